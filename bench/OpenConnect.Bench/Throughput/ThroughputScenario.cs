using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace OpenConnect.Bench.Throughput;

/// <summary>
/// Does the appliance deliver 2 MB segments at least as fast as nginx, from RAM and from the SSD tier?
/// nginx and the appliance run on core 0, wrk on core 1; the servers alternate within one run, so
/// only ratios between them are compared. The appliance warms from nginx as its parent.
/// </summary>
public sealed class ThroughputScenario : IScenario
{
    private const string Nginx = "nginx";
    private const string Appliance = "appliance";

    public string Name => "throughput";

    public string Description => "appliance vs nginx serving 2 MB segments (RAM and SSD tier), pinned, with wrk";

    public string Usage => ThroughputSettings.Usage;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var settings = ThroughputSettings.Parse(args);
        var repoRoot = FindRepoRoot();

        // SIGTERM (as from a CI timeout) cleans up like Ctrl-C does, instead of leaving servers behind.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });
        cancellationToken = stop.Token;
        var temp = Directory.CreateTempSubdirectory("openconnect-throughput-").FullName;
        NginxServer? nginx = null;
        try
        {
            var tools = await ToolPaths.RequireAsync(repoRoot, cancellationToken).ConfigureAwait(false);
            var openFilesWarning = tools.CheckOpenFiles(settings.MaxConnections);
            await EnsureApplianceBuiltAsync(repoRoot, cancellationToken).ConfigureAwait(false);
            var www = Path.Combine(temp, "www");
            var paths = await CreateSegmentsAsync(www, "seg", settings.Files, cancellationToken).ConfigureAwait(false);
            var lua = Path.Combine(temp, "round-robin.lua");
            await File.WriteAllTextAsync(lua, RoundRobinScript(settings.Files), cancellationToken).ConfigureAwait(false);
            var uris = Path.Combine(temp, "uris.txt");
            await File.WriteAllLinesAsync(uris, paths.Select(p => "http://127.0.0.1" + p), cancellationToken).ConfigureAwait(false);
            var tls = settings.Cases.Contains(TierCase.Https)
                ? await TlsSetup.CreateAsync(tools, Path.Combine(temp, "tls"), cancellationToken).ConfigureAwait(false)
                : null;
            nginx = await NginxServer.StartAsync(tools, Path.Combine(temp, "nginx"), www, tls, cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"throughput: {settings.Files} x 2 MB files, {settings.Seconds} s per run, {settings.Rounds} round(s), connections {string.Join(",", settings.Connections)}, cases {string.Join(",", settings.Cases.Select(ThroughputSettings.Label))}, fixed rate {settings.FixedRatePercent} % of nginx's req/s, memory {(settings.Memory ? "on" : "off")}, warm-up check {(settings.WarmupCheck ? "on" : "off")}, soak {settings.SoakSeconds} s");
            Console.WriteLine($"servers pinned to core 0 (taskset -c 0), wrk -t1 and h2load -t1 pinned to core 1, {tools.EffectiveOpenFiles} open files each{(tools.RaisesOpenFiles ? " (prlimit)" : "")}; nginx pid {nginx.Process.Id} on port {nginx.Port}{(nginx.TlsPort is { } t ? $" and {t} (TLS)" : "")} (1 process, sendfile on, tcp_nopush on, open_file_cache off)");
            Console.WriteLine($"load average at start: {LoadAverage()}");

            if (openFilesWarning is not null)
            {
                Console.WriteLine($"warning: {openFilesWarning}");
            }

            var session = new ThroughputSession(settings, tools, repoRoot, temp, lua, uris, paths, nginx, tls);
            session.Note("open_files_warning", openFilesWarning);
            foreach (var tier in settings.Cases)
            {
                await session.RunCaseAsync(tier, cancellationToken).ConfigureAwait(false);
            }

            if (settings.WarmupCheck)
            {
                await session.WarmupCheckAsync(cancellationToken).ConfigureAwait(false);
            }

            if (settings.SoakSeconds > 0)
            {
                await session.SoakAsync(cancellationToken).ConfigureAwait(false);
            }

            session.Note("load_average_end", LoadAverage());
            return session.Report(settings.ChartPath is { } chart ? Path.GetFullPath(chart, repoRoot) : null);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Console.Error.WriteLine("bench throughput: interrupted; stopping servers and removing temp files");
            return 130;
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or FormatException or IOException or HttpRequestException)
        {
            Console.Error.WriteLine($"bench throughput: FAILED: {ex.Message}");
            return 1;
        }
        finally
        {
            if (nginx is not null)
            {
                await nginx.DisposeAsync().ConfigureAwait(false);
            }

            try
            {
                Directory.Delete(temp, recursive: true);
            }
            catch (IOException ex)
            {
                Console.Error.WriteLine($"bench throughput: could not remove {temp}: {ex.Message}");
            }
        }
    }

    /// <summary>The 1, 5 and 15 minute load averages from /proc/loadavg, e.g. "2.10 3.05 4.00".</summary>
    private static string LoadAverage()
    {
        var fields = File.ReadAllText("/proc/loadavg").Split(' ');
        return string.Join(' ', fields.Take(3));
    }

    private static string FindRepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "appliance", "OpenConnect.Appliance", "OpenConnect.Appliance.csproj")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new BenchUsageException("cannot find the repository (appliance/OpenConnect.Appliance) above the current directory; run from the repository");
    }

    private static async Task EnsureApplianceBuiltAsync(string repoRoot, CancellationToken cancellationToken)
    {
        if (File.Exists(ApplianceServer.DllPath(repoRoot)))
        {
            return;
        }

        Console.WriteLine("building the appliance (Release) ...");
        var project = Path.Combine(repoRoot, "appliance", "OpenConnect.Appliance", "OpenConnect.Appliance.csproj");
        var (code, output) = await ChildProcess.RunAsync("dotnet", ["build", "-c", "Release", project], TimeSpan.FromMinutes(10), cancellationToken).ConfigureAwait(false);
        if (code != 0 || !File.Exists(ApplianceServer.DllPath(repoRoot)))
        {
            throw new InvalidOperationException($"dotnet build -c Release of the appliance failed (exit {code}):\n{output}");
        }
    }

    /// <summary>Writes <paramref name="count"/> random 2 MB files named <paramref name="stem"/>-00001.m4s … and returns their content paths.</summary>
    private static async Task<IReadOnlyList<string>> CreateSegmentsAsync(string www, string stem, int count, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(www, "v", "bench", "720p");
        Directory.CreateDirectory(directory);
        var buffer = new byte[ThroughputSettings.FileBytes];
        var paths = new List<string>(count);
        for (var i = 1; i <= count; i++)
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"{stem}-{i:D5}.m4s");
            RandomNumberGenerator.Fill(buffer);
            await File.WriteAllBytesAsync(Path.Combine(directory, name), buffer, cancellationToken).ConfigureAwait(false);
            paths.Add($"/v/bench/720p/{name}");
        }

        return paths;
    }

    /// <summary>wrk script: requests built once per path, then handed out round-robin.</summary>
    private static string RoundRobinScript(int files) => string.Create(CultureInfo.InvariantCulture, $$"""
        local requests = {}
        local n = {{files}}
        local i = 0
        init = function(args)
          for k = 1, n do
            requests[k] = wrk.format("GET", string.format("/v/bench/720p/seg-%05d.m4s", k))
          end
        end
        request = function()
          i = i % n + 1
          return requests[i]
        end

        """);
}
