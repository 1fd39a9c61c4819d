namespace OpenConnect.Bench.Throughput;

/// <summary>
/// The external programs the scenario drives, found on PATH (and in the sbin directories, where Debian
/// puts nginx); missing ones are installed from Debian packages through <c>scripts/prereqs.sh</c>, as
/// <c>run.sh</c> installs ffmpeg.
/// </summary>
internal sealed record ToolPaths(string Nginx, string Wrk, string? H2load, string? Openssl, string Taskset, string? Prlimit, string? Strace, string? Timeout)
{
    public const string MissingMessage = "needs nginx, wrk and taskset; install the Debian packages: apt-get install -y nginx-light wrk util-linux";

    /// <summary>Open files asked for the servers and load generators (a socket plus an open file per in-flight response at 10,000 connections).</summary>
    public const int WantedOpenFiles = 65_536;

    private static readonly (string Command, string Package)[] Required =
    [
        ("nginx", "nginx-light"), ("wrk", "wrk"), ("h2load", "nghttp2-client"), ("openssl", "openssl"), ("taskset", "util-linux"), ("prlimit", "util-linux"),
    ];

    /// <summary>h2load, which <see cref="RequireAsync"/> guarantees.</summary>
    public string H2loadPath => H2load ?? throw new InvalidOperationException("h2load not found; apt-get install -y nghttp2-client");

    /// <summary>openssl, which <see cref="RequireAsync"/> guarantees.</summary>
    public string OpensslPath => Openssl ?? throw new InvalidOperationException("openssl not found; apt-get install -y openssl");

    /// <summary>nginx, wrk and taskset, without installing anything: a <see cref="BenchUsageException"/> naming the packages when one is missing.</summary>
    public static ToolPaths Require()
    {
        var nginx = Find("nginx");
        var wrk = Find("wrk");
        var taskset = Find("taskset");
        if (nginx is null || wrk is null || taskset is null)
        {
            var missing = string.Join(", ", new[] { ("nginx", nginx), ("wrk", wrk), ("taskset", taskset) }.Where(t => t.Item2 is null).Select(t => t.Item1));
            throw new BenchUsageException($"{missing} not found; {MissingMessage}");
        }

        return new ToolPaths(nginx, wrk, Find("h2load"), Find("openssl"), taskset, Find("prlimit"), Find("strace"), Find("timeout"));
    }

    /// <summary>The tools, installed first when missing; a <see cref="BenchUsageException"/> naming the packages when that fails.</summary>
    public static async Task<ToolPaths> RequireAsync(string repoRoot, CancellationToken cancellationToken)
    {
        var missing = Required.Where(t => Find(t.Command) is null).ToList();
        if (missing.Count > 0)
        {
            var pairs = string.Join(' ', missing.Select(t => $"{t.Command}:{t.Package}"));
            Console.WriteLine($"installing what is missing ({pairs}) through scripts/prereqs.sh ...");
            var script = Path.Combine(repoRoot, "scripts", "prereqs.sh");
            var (code, output) = await ChildProcess.RunAsync("bash", ["-c", $"source \"$1\" && ensure_commands {pairs}", "bash", script], TimeSpan.FromMinutes(10), cancellationToken).ConfigureAwait(false);
            var still = missing.Where(t => Find(t.Command) is null).ToList();
            if (code != 0 || still.Count > 0)
            {
                throw new BenchUsageException($"{string.Join(", ", still.Select(t => t.Command))} not found and could not be installed: {output.Trim()}; install the Debian packages: apt-get install -y {string.Join(' ', still.Select(t => t.Package).Distinct())}");
            }
        }

        var tools = Require();
        return tools with { OpenFiles = await OpenFileLimitAsync(tools.Prlimit, cancellationToken).ConfigureAwait(false) };
    }

    /// <summary>Open files each server and load generator runs with (0 until <see cref="RequireAsync"/>: as inherited).</summary>
    public int OpenFiles { get; init; }

    /// <summary>
    /// <see cref="WantedOpenFiles"/> when prlimit may raise the hard limit that far (root with CAP_SYS_RESOURCE),
    /// else this process's hard limit (raising the soft limit up to it is always allowed).
    /// </summary>
    private static async Task<int> OpenFileLimitAsync(string? prlimit, CancellationToken cancellationToken)
    {
        if (prlimit is null)
        {
            return 0;
        }

        var (code, _) = await ChildProcess.RunAsync(prlimit, [$"--nofile={WantedOpenFiles}:{WantedOpenFiles}", "true"], TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        if (code == 0)
        {
            return WantedOpenFiles;
        }

        var (_, hard) = CurrentOpenFileLimits();
        return (int)Math.Min(hard, WantedOpenFiles);
    }

    /// <summary>Soft and hard RLIMIT_NOFILE of this process, from /proc/self/limits ("unlimited" as long.MaxValue).</summary>
    public static (long Soft, long Hard) CurrentOpenFileLimits()
    {
        var line = File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var fields = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields is not { Length: >= 5 })
        {
            return (long.MaxValue, long.MaxValue);
        }

        static long Value(string field) => field == "unlimited" ? long.MaxValue : long.Parse(field, System.Globalization.CultureInfo.InvariantCulture);
        return (Value(fields[3]), Value(fields[4]));
    }

    /// <summary>
    /// <paramref name="program"/> pinned to <paramref name="core"/>, with <see cref="OpenFiles"/> open files
    /// when running as root (raising the hard limit takes CAP_SYS_RESOURCE); the file to start and its arguments.
    /// </summary>
    public (string File, List<string> Args) OnCore(int core, string program, IEnumerable<string> args)
    {
        var pinned = new List<string> { "-c", core.ToString(System.Globalization.CultureInfo.InvariantCulture), program };
        pinned.AddRange(args);
        if (!RaisesOpenFiles)
        {
            return (Taskset, pinned);
        }

        var limited = new List<string> { $"--nofile={OpenFiles}:{OpenFiles}", Taskset };
        limited.AddRange(pinned);
        return (Prlimit!, limited);
    }

    /// <summary>Whether <see cref="OnCore"/> sets the open-file limit (prlimit present).</summary>
    public bool RaisesOpenFiles => Prlimit is not null && OpenFiles > 0;

    /// <summary>Open files a server or load generator gets: <see cref="OpenFiles"/>, or the inherited soft limit.</summary>
    public long EffectiveOpenFiles => RaisesOpenFiles ? OpenFiles : CurrentOpenFileLimits().Soft;

    /// <summary>
    /// Each server holds a socket per connection and, serving, an open file per in-flight response: fewer open
    /// files than connections is a clear error; fewer than twice as many is a warning (EMFILE under full load).
    /// </summary>
    public string? CheckOpenFiles(int connections)
    {
        var limit = EffectiveOpenFiles;
        if (limit < connections + 1024L)
        {
            throw new BenchUsageException($"{connections} connections need at least {connections + 1024} open files per process but the limit is {limit}; raise ulimit -n (hard) or use fewer --connections");
        }

        return limit < 2L * connections + 1024
            ? $"open files limited to {limit} (hard limit; raising it needs CAP_SYS_RESOURCE): at {connections} connections a server with an open file per in-flight response may reach it"
            : null;
    }

    private static string? Find(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        var directories = path.Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(["/usr/local/sbin", "/usr/sbin", "/sbin"]);
        return directories.Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
    }
}
