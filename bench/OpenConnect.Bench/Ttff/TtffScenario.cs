using System.Globalization;
using System.Text.Json;
using OpenConnect.Bench.Throughput;

namespace OpenConnect.Bench.Ttff;

/// <summary>
/// Time to first frame in headless Chromium with hls.js and dash.js: a title played through steering
/// and a warm appliance as the web app starts it (<c>/play</c>, then the steered multivariant playlist
/// or MPD, signed URLs, the appliance's segment server; by default with <c>/play</c>'s start set, the
/// first files fetched at once and handed to the player) against the same files served by nginx from
/// disk, with the same player settings on both sides. Our clock starts before <c>/play</c>; nginx's at
/// the manifest URL (a static server has no <c>/play</c> and no start set). Servers (origin, steering, appliance, nginx) are pinned to core 0, Chromium and the node
/// driver to core 1; sides and engines alternate in rounds within one run. Besides p50/p95 per engine
/// and side it prints each side's median request waterfall and player events (<see cref="StartBreakdown"/>).
/// </summary>
public sealed class TtffScenario : IScenario
{
    private const string Title = "ttff";

    private const string OursWithStartSet = "steering + appliance";

    private const string OursWithoutStartSet = "steering, no start set";

    private const string Nginx = "nginx (files on disk)";

    private static readonly string[] Engines = ["hls", "dash"];

    public string Name => "ttff";

    public string Description => "time to first frame (hls.js and dash.js, headless Chromium) through steering + appliance vs nginx";

    public string Usage => """
        bench ttff [--starts N] [--rounds N] [--seconds S] [--engines hls,dash] [--profile fast|baseline]
                   [--first-segment S] [--hls-config JSON] [--dash-config JSON] [--start-set on|off|both]
          --starts N         starts per engine and side (default 20)
          --rounds N         alternate the sides in this many rounds (default 4)
          --seconds S        length of the packaged test title (default 12)
          --engines LIST     player engines, comma-separated (default hls,dash)
          --profile P        player settings on both sides: fast (the web app's, default) or
                             baseline (library defaults with a 3 s forward buffer)
          --first-segment S  length of each rendition's first segment in seconds, 0.5 to 1
                             (Origin:Pipeline:FirstSegmentSeconds), or 2 for none (default)
          --hls-config JSON  merged into the hls.js config on both sides (to measure one setting)
          --dash-config JSON merged into dash.js's settings on both sides
          --start-set X      our side: on (default) asks /play for the start set and fetches it at
                             once, off starts the player on /play's manifest URL alone, both runs
                             each as its own side (the lever alone, in one run)
        Needs a Release build (dotnet build -c Release), ffmpeg, nginx (nginx-light), taskset,
        chromium and node with tests/node/node_modules installed.
        """;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var options = TtffOptions.Parse(args);
        var nginx = Find("nginx") ?? throw new BenchUsageException("nginx not found; apt-get install -y nginx-light");
        var taskset = Find("taskset") ?? throw new BenchUsageException("taskset not found; apt-get install -y util-linux");
        var root = FindRepoRoot();
        var work = Path.Combine(Path.GetTempPath(), $"openconnect-ttff-{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        try
        {
            var www = Path.Combine(work, "www");
            var package = Path.Combine(www, "v", Title);
            await TitlePackager.PackageAsync(package, options.Seconds, TitlePackager.TwoRungs, 2, options.FirstSegmentSeconds, cancellationToken).ConfigureAwait(false);

            await using var stack = await SteeredStack.StartAsync(root, taskset, work, package, Title, cancellationToken).ConfigureAwait(false);
            await using var reference = await StartNginxAsync(nginx, taskset, work, www, cancellationToken).ConfigureAwait(false);
            var player = new PlayerScript(root, taskset, options);
            var sides = new List<Side>();
            foreach (var engine in options.Engines)
            {
                var file = engine == "hls" ? "master.m3u8" : "manifest.mpd";
                var play = $"{stack.SteeringUrl}/play/{Title}";
                if (options.StartSet is "on" or "both")
                {
                    sides.Add(new Side(engine, OursWithStartSet, play, Play: true, StartSet: true));
                }

                if (options.StartSet is "off" or "both")
                {
                    sides.Add(new Side(engine, OursWithoutStartSet, play, Play: true, StartSet: false));
                }

                sides.Add(new Side(engine, Nginx, $"http://127.0.0.1:{reference.Port}/v/{Title}/{file}", Play: false, StartSet: false));
            }

            // Warm both: the appliance's cache (every file through a signed URL), the page cache for
            // nginx, steering's catalog cache, and each engine once per side.
            await stack.WarmAsync(package, cancellationToken).ConfigureAwait(false);
            foreach (var side in sides)
            {
                await player.RunAsync(side, 1, cancellationToken).ConfigureAwait(false);
            }

            var perRound = options.Starts / options.Rounds;
            for (var round = 0; round < options.Rounds; round++)
            {
                // Alternate the order so drift in the machine's load falls on every side.
                foreach (var side in round % 2 == 0 ? sides : Enumerable.Reverse(sides))
                {
                    side.Starts.AddRange(await player.RunAsync(side, perRound, cancellationToken).ConfigureAwait(false));
                }
            }

            Report(sides, options);
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

    private void Report(List<Side> sides, TtffOptions options)
    {
        foreach (var side in sides)
        {
            Console.WriteLine(StartBreakdown.Render($"{EngineName(side.Engine)}, {side.Name}", side.Starts));
        }

        var table = new Table("engine", "side", "starts", "p50 ms", "p95 ms", "min ms", "max ms");
        foreach (var side in sides)
        {
            var ms = side.Ttff;
            table.Add(EngineName(side.Engine), side.Name, ms.Count, F(Percentile(ms, 50)), F(Percentile(ms, 95)), F(ms.Min()), F(ms.Max()));
        }

        Console.WriteLine(table);
        var json = new Dictionary<string, object>
        {
            ["scenario"] = Name,
            ["starts_per_side"] = options.Starts,
            ["title_seconds"] = options.Seconds,
            ["first_segment_seconds"] = options.FirstSegmentSeconds,
            ["profile"] = options.Profile,
            ["start_set"] = options.StartSet,
            ["load_average"] = LoadAverage(),
        };
        var worst = 0.0;
        foreach (var engine in options.Engines)
        {
            var theirs = sides.Single(s => s.Engine == engine && s.Name == Nginx).Ttff;
            var key = EngineName(engine).Replace(".", "", StringComparison.Ordinal);
            json[$"nginx_p50_ms_{key}"] = Math.Round(Percentile(theirs, 50), 1);
            json[$"nginx_p95_ms_{key}"] = Math.Round(Percentile(theirs, 95), 1);
            foreach (var side in sides.Where(s => s.Engine == engine && s.Name != Nginx))
            {
                var ours = side.Ttff;
                var ratio = Percentile(ours, 50) / Percentile(theirs, 50);
                // The headline keys are our default side's (with the start set unless it is off); the
                // other side of --start-set both gets the suffix _no_start_set.
                var suffix = side.StartSet || options.StartSet == "off" ? "" : "_no_start_set";
                if (suffix.Length == 0)
                {
                    worst = Math.Max(worst, ratio);
                }

                Console.WriteLine($"{EngineName(engine)}{(side.StartSet ? ", start set" : ", no start set")}: ttff ratio (ours / nginx, p50) {ratio.ToString("F3", CultureInfo.InvariantCulture)}; bar <= 0.7; goal p50 <= 200 ms (ours {F(Percentile(ours, 50))} ms)");
                json[$"ttff_p50_ms_{key}{suffix}"] = Math.Round(Percentile(ours, 50), 1);
                json[$"ttff_p95_ms_{key}{suffix}"] = Math.Round(Percentile(ours, 95), 1);
                json[$"ttff_ratio_vs_nginx_{key}{suffix}"] = Math.Round(ratio, 3);
            }
        }

        // The worse engine's ratio (our default side), under the key earlier runs reported.
        json["ttff_ratio_vs_nginx"] = Math.Round(worst, 3);
        Summary.WriteJsonLine(json);
    }

    private static string EngineName(string engine) => engine == "hls" ? "hls.js" : "dash.js";

    /// <summary>The 1-minute load average, so a reader can tell a busy machine's run from a quiet one's.</summary>
    private static double LoadAverage()
    {
        try
        {
            return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    /// <summary>
    /// One engine against one server: its URL (the manifest's, or steering's <c>/play/{title}</c> when
    /// <paramref name="Play"/>: the start goes through <c>/play</c>, with its start set when
    /// <paramref name="StartSet"/>) and the starts measured so far.
    /// </summary>
    private sealed record Side(string Engine, string Name, string Url, bool Play, bool StartSet)
    {
        public List<StartSample> Starts { get; } = [];

        public List<double> Ttff => [.. Starts.Select(s => s.TtffMs)];
    }

    /// <summary>The node driver (<c>tests/node/play-ttff.js</c>) on core 1.</summary>
    private sealed class PlayerScript(string root, string taskset, TtffOptions options)
    {
        /// <summary>Runs <paramref name="starts"/> starts of one side.</summary>
        public async Task<List<StartSample>> RunAsync(Side side, int starts, CancellationToken cancellationToken)
        {
            var script = Path.Combine(root, "tests", "node", "play-ttff.js");
            var timeout = TimeSpan.FromSeconds(30 + (starts * 15));
            var config = side.Engine == "hls" ? options.HlsConfig : options.DashConfig;
            string[] source = side.Play ? ["--play", side.Url, "--start-set", side.StartSet ? "on" : "off"] : ["--url", side.Url];
            var url = side.Url;
            var (exit, output) = await ChildProcess.RunAsync(taskset, ["-c", "1", "node", script, "--player", side.Engine, .. source, "--starts", starts.ToString(CultureInfo.InvariantCulture), "--profile", options.Profile, "--config", config], timeout, cancellationToken).ConfigureAwait(false);
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

            return [.. result.RootElement.GetProperty("starts").EnumerateArray().Select(StartSample.FromJson)];
        }
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
