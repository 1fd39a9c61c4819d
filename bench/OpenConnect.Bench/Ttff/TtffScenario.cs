using System.Globalization;
using System.Text.Json;
using OpenConnect.Bench.Throughput;

namespace OpenConnect.Bench.Ttff;

/// <summary>
/// Time to first frame in headless Chromium with hls.js: a title played through steering and a warm
/// appliance (steered multivariant playlist, signed URLs, the appliance's segment server) against the
/// same files served by nginx from disk. Servers (origin, steering, appliance, nginx) are pinned to
/// core 0, Chromium and the node driver to core 1; the two sides alternate in rounds within one run.
/// </summary>
public sealed class TtffScenario : IScenario
{
    private const string Title = "ttff";

    public string Name => "ttff";

    public string Description => "time to first frame (hls.js, headless Chromium) through steering + appliance vs nginx";

    public string Usage => """
        bench ttff [--starts N] [--rounds N] [--seconds S]
          --starts N    starts per side (default 20)
          --rounds N    alternate the sides in this many rounds (default 4)
          --seconds S   length of the packaged test title (default 12)
        Needs a Release build (dotnet build -c Release), ffmpeg, nginx (nginx-light), taskset,
        chromium and node with tests/node/node_modules installed.
        """;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var starts = IntOption(args, "--starts", 20);
        var rounds = IntOption(args, "--rounds", 4);
        var seconds = IntOption(args, "--seconds", 12);
        if (starts < 2 || rounds < 1 || starts % rounds != 0 || seconds < 4)
        {
            throw new BenchUsageException("--starts must be at least 2 and a multiple of --rounds; --seconds at least 4");
        }

        var nginx = Find("nginx") ?? throw new BenchUsageException("nginx not found; apt-get install -y nginx-light");
        var taskset = Find("taskset") ?? throw new BenchUsageException("taskset not found; apt-get install -y util-linux");
        var root = FindRepoRoot();
        var work = Path.Combine(Path.GetTempPath(), $"openconnect-ttff-{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        try
        {
            var www = Path.Combine(work, "www");
            var package = Path.Combine(www, "v", Title);
            await TitlePackager.PackageAsync(package, seconds, cancellationToken).ConfigureAwait(false);

            await using var stack = await SteeredStack.StartAsync(root, taskset, work, package, Title, cancellationToken).ConfigureAwait(false);
            await using var reference = await StartNginxAsync(nginx, taskset, work, www, cancellationToken).ConfigureAwait(false);
            var nginxUrl = $"http://127.0.0.1:{reference.Port}/v/{Title}/master.m3u8";
            var oursUrl = $"{stack.SteeringUrl}/play/{Title}/master.m3u8";

            // Warm both: the appliance's cache (every file through a signed URL) and the page cache for nginx.
            await stack.WarmAsync(package, cancellationToken).ConfigureAwait(false);
            await RunPlayerAsync(root, taskset, nginxUrl, 1, cancellationToken).ConfigureAwait(false);
            await RunPlayerAsync(root, taskset, oursUrl, 1, cancellationToken).ConfigureAwait(false);

            var ours = new List<double>();
            var theirs = new List<double>();
            var perRound = starts / rounds;
            for (var round = 0; round < rounds; round++)
            {
                // Alternate which side goes first so drift in the machine's load falls on both.
                var first = round % 2 == 0;
                if (first)
                {
                    ours.AddRange(await RunPlayerAsync(root, taskset, oursUrl, perRound, cancellationToken).ConfigureAwait(false));
                }

                theirs.AddRange(await RunPlayerAsync(root, taskset, nginxUrl, perRound, cancellationToken).ConfigureAwait(false));
                if (!first)
                {
                    ours.AddRange(await RunPlayerAsync(root, taskset, oursUrl, perRound, cancellationToken).ConfigureAwait(false));
                }
            }

            var table = new Table("side", "starts", "p50 ms", "p95 ms", "min ms", "max ms");
            table.Add("steering + appliance", ours.Count, F(Percentile(ours, 50)), F(Percentile(ours, 95)), F(ours.Min()), F(ours.Max()));
            table.Add("nginx (files on disk)", theirs.Count, F(Percentile(theirs, 50)), F(Percentile(theirs, 95)), F(theirs.Min()), F(theirs.Max()));
            var ratio = Percentile(ours, 50) / Percentile(theirs, 50);
            Console.WriteLine(table);
            Console.WriteLine($"ttff ratio (ours / nginx, p50): {ratio.ToString("F3", CultureInfo.InvariantCulture)}; goal <= 1.1");
            Summary.WriteJsonLine(new
            {
                scenario = Name,
                starts_per_side = starts,
                title_seconds = seconds,
                ttff_ratio_vs_nginx = Math.Round(ratio, 3),
                ours_p50_ms = Math.Round(Percentile(ours, 50), 1),
                ours_p95_ms = Math.Round(Percentile(ours, 95), 1),
                nginx_p50_ms = Math.Round(Percentile(theirs, 50), 1),
                nginx_p95_ms = Math.Round(Percentile(theirs, 95), 1),
            });
            return 0;
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException ex)
            {
                Console.Error.WriteLine($"bench ttff: could not remove {work}: {ex.Message}");
            }
        }
    }

    /// <summary>Runs the node driver for <paramref name="starts"/> starts of <paramref name="url"/>; the time to first frame of each, in ms.</summary>
    private static async Task<List<double>> RunPlayerAsync(string root, string taskset, string url, int starts, CancellationToken cancellationToken)
    {
        var script = Path.Combine(root, "tests", "node", "play-failover.js");
        var timeout = TimeSpan.FromSeconds(30 + (starts * 15));
        var (exit, output) = await ChildProcess.RunAsync(taskset, ["-c", "1", "node", script, "--player", "hls", "--mode", "ttff", "--url", url, "--starts", starts.ToString(CultureInfo.InvariantCulture)], timeout, cancellationToken).ConfigureAwait(false);
        var line = output.Split('\n').LastOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
        if (exit != 0 || line is null)
        {
            throw new InvalidOperationException($"the player script failed (exit {exit}) for {url}:\n{output}");
        }

        using var result = JsonDocument.Parse(line["RESULT ".Length..]);
        if (!result.RootElement.GetProperty("ok").GetBoolean())
        {
            throw new InvalidOperationException($"playback failed for {url}: {line}");
        }

        return [.. result.RootElement.GetProperty("ttffMs").EnumerateArray().Select(e => e.GetDouble())];
    }

    private static async Task<NginxReference> StartNginxAsync(string nginx, string taskset, string work, string www, CancellationToken cancellationToken)
    {
        var prefix = Path.Combine(work, "nginx");
        Directory.CreateDirectory(prefix);
        var port = NginxServer.FreePort();
        var config = Path.Combine(prefix, "nginx.conf");
        // The same response shape a player gets from the appliance: CORS allowed, sendfile.
        await File.WriteAllTextAsync(config, string.Create(CultureInfo.InvariantCulture, $$"""
            daemon off;
            master_process off;
            worker_processes 1;
            pid {{prefix}}/nginx.pid;
            error_log {{prefix}}/error.log warn;
            events { worker_connections 1024; }
            http {
                types { application/vnd.apple.mpegurl m3u8; application/dash+xml mpd; video/mp4 mp4 m4s; }
                default_type application/octet-stream;
                access_log off;
                sendfile on;
                tcp_nopush on;
                tcp_nodelay on;
                client_body_temp_path {{prefix}}/client_body_temp;
                proxy_temp_path {{prefix}}/proxy_temp;
                fastcgi_temp_path {{prefix}}/fastcgi_temp;
                uwsgi_temp_path {{prefix}}/uwsgi_temp;
                scgi_temp_path {{prefix}}/scgi_temp;
                server {
                    listen 127.0.0.1:{{port}};
                    root {{www}};
                    location / { add_header Access-Control-Allow-Origin * always; }
                }
            }

            """), cancellationToken).ConfigureAwait(false);
        var process = ChildProcess.Start(taskset, ["-c", "0", nginx, "-p", prefix + "/", "-c", config, "-e", Path.Combine(prefix, "error.log")]);
        var server = new NginxReference(process, port);
        try
        {
            await HttpProbe.WaitUntilAsync(process, $"http://127.0.0.1:{port}/v/{Title}/master.m3u8", "nginx", cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private sealed record NginxReference(ChildProcess Process, int Port) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Process.DisposeAsync();
    }

    internal static double Percentile(IReadOnlyList<double> values, double percentile)
    {
        var sorted = values.Order().ToArray();
        var rank = percentile / 100 * (sorted.Length - 1);
        var low = (int)Math.Floor(rank);
        var high = (int)Math.Ceiling(rank);
        return sorted[low] + ((sorted[high] - sorted[low]) * (rank - low));
    }

    private static string F(double value) => value.ToString("F0", CultureInfo.InvariantCulture);

    private static int IntOption(IReadOnlyList<string> args, string name, int fallback)
    {
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == name)
            {
                if (i + 1 >= args.Count || !int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
                {
                    throw new BenchUsageException($"{name} needs a whole number");
                }

                return value;
            }
        }

        return fallback;
    }

    internal static string? Find(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        return path.Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(["/usr/local/sbin", "/usr/sbin", "/sbin"]).Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
    }

    internal static string FindRepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "OpenConnect.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new BenchUsageException("cannot find the repository (OpenConnect.sln) above the current directory; run from the repository");
    }
}
