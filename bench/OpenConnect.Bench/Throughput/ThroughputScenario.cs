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
        var tools = ToolPaths.Require();
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
            await EnsureApplianceBuiltAsync(repoRoot, cancellationToken).ConfigureAwait(false);
            var www = Path.Combine(temp, "www");
            var paths = await CreateSegmentsAsync(www, "seg", settings.Files, cancellationToken).ConfigureAwait(false);
            var lua = Path.Combine(temp, "round-robin.lua");
            await File.WriteAllTextAsync(lua, RoundRobinScript(settings.Files), cancellationToken).ConfigureAwait(false);
            nginx = await NginxServer.StartAsync(tools, Path.Combine(temp, "nginx"), www, cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"throughput: {settings.Files} x 2 MB files, {settings.Seconds} s per run, {settings.Rounds} round(s), connections {string.Join(",", settings.Connections)}, cases {string.Join(",", settings.Cases).ToLowerInvariant()}");
            Console.WriteLine($"servers pinned to core 0 (taskset -c 0), wrk -t1 pinned to core 1; nginx pid {nginx.Process.Id} on port {nginx.Port} (1 process, sendfile on, tcp_nopush on, open_file_cache off)");

            var session = new Session(settings, tools, lua, temp);
            foreach (var tier in settings.Cases)
            {
                await session.RunCaseAsync(tier, repoRoot, nginx, paths, cancellationToken).ConfigureAwait(false);
            }

            return session.Report();
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

    /// <summary>The state of one bench run: its settings, the measured runs and the checks made along the way.</summary>
    private sealed class Session(ThroughputSettings settings, ToolPaths tools, string lua, string temp)
    {
        private readonly List<RunResult> _runs = [];
        private readonly List<string> _problems = [];
        private readonly Dictionary<string, object?> _facts = [];

        public async Task RunCaseAsync(TierCase tier, string repoRoot, NginxServer nginx, IReadOnlyList<string> paths, CancellationToken cancellationToken)
        {
            var label = Label(tier);
            var cacheDirectory = Path.Combine(temp, $"appliance-{label}");
            await using var appliance = await ApplianceServer.StartAsync(tools, repoRoot, tier, nginx.Port, cacheDirectory, cancellationToken).ConfigureAwait(false);
            var passes = await appliance.WarmAsync(tier, paths, cancellationToken).ConfigureAwait(false);
            _facts[$"{label}_warm_passes"] = passes;
            if (tier == TierCase.Ssd)
            {
                await appliance.ReadCacheFilesAsync(cancellationToken).ConfigureAwait(false);
            }

            var metrics = await appliance.ScrapeAsync(cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"{label} case: appliance pid {appliance.Process.Id} on port {appliance.Port}; warm after {passes} pass(es): ram objects {metrics.Value("openconnect_appliance_tier_objects", "ram")}, ssd objects {metrics.Value("openconnect_appliance_tier_objects", "ssd")}");

            for (var c = 0; c < settings.Connections.Count; c++)
            {
                var connections = settings.Connections[c];
                if (settings.WarmupSeconds > 0)
                {
                    await WrkAsync(nginx.Port, connections, settings.WarmupSeconds, cancellationToken).ConfigureAwait(false);
                    await WrkAsync(appliance.Port, connections, settings.WarmupSeconds, cancellationToken).ConfigureAwait(false);
                }

                if (tier == TierCase.Ssd && c == 0)
                {
                    await TraceSendfileAsync(appliance, connections, cancellationToken).ConfigureAwait(false);
                }

                for (var round = 1; round <= settings.Rounds; round++)
                {
                    // Alternate which server goes first, so drift in the machine's load does not favour one.
                    var applianceFirst = round % 2 == 0;
                    for (var turn = 0; turn < 2; turn++)
                    {
                        var result = applianceFirst == (turn == 0)
                            ? await MeasureAsync(tier, Appliance, appliance.Process, appliance.Port, appliance, connections, round, cancellationToken).ConfigureAwait(false)
                            : await MeasureAsync(tier, Nginx, nginx.Process, nginx.Port, null, connections, round, cancellationToken).ConfigureAwait(false);
                        _runs.Add(result);
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"  {label} c{connections} round {round} {result.Server,-9} {result.Wrk.GigabytesPerSecond:F3} GB/s {result.Wrk.RequestsPerSecond,7:F1} req/s p50 {result.Wrk.P50Ms:F1} ms p99 {result.Wrk.P99Ms:F1} ms errors {result.Wrk.Errors} server CPU {result.ServerCpuPercent:F0}% ({result.CpuSecondsPerGigabyte:F3} CPU-s/GB) core0 {result.Core0BusyPercent:F0}% core1 {result.Core1BusyPercent:F0}%"));
                    }
                }
            }
        }

        public int Report()
        {
            var cells = _runs
                .GroupBy(r => (r.Case, r.Server, r.Connections))
                .Select(g => new CellSummary(g.Key.Case, g.Key.Server, g.Key.Connections, [.. g]))
                .OrderBy(s => s.Case).ThenBy(s => s.Connections).ThenBy(s => s.Server == Nginx ? 0 : 1)
                .ToList();

            Console.WriteLine();
            Console.WriteLine("Medians over rounds (GB = 10^9 bytes; CPU-s/GB = server CPU seconds per GB delivered, all rounds summed; srv CPU = share of core 0):");
            var table = new Table("case", "server", "conns", "GB/s", "GB/s min-max", "req/s", "p50 ms", "p99 ms", "errors", "CPU-s/GB", "srv CPU %");
            foreach (var s in cells)
            {
                table.Add(Label(s.Case), s.Server, s.Connections, F(s.GigabytesPerSecond, "F3"),
                    $"{F(s.MinGigabytesPerSecond, "F3")}-{F(s.MaxGigabytesPerSecond, "F3")}",
                    F(s.RequestsPerSecond, "F0"), F(s.P50Ms, "F1"), F(s.P99Ms, "F1"), s.Errors, F(s.CpuSecondsPerGigabyte, "F3"), F(s.ServerCpuPercent, "F0"));
            }

            Console.Write(table);

            var figures = new Dictionary<string, object?>
            {
                ["scenario"] = "throughput",
                ["files"] = settings.Files,
                ["file_bytes"] = ThroughputSettings.FileBytes,
                ["seconds"] = settings.Seconds,
                ["rounds"] = settings.Rounds,
                ["warmup_seconds"] = settings.WarmupSeconds,
                ["connections"] = settings.Connections,
                ["cases"] = settings.Cases.Select(Label).ToArray(),
                ["pinning"] = "servers taskset -c 0, wrk -t1 taskset -c 1",
                ["nginx_open_file_cache"] = "off",
                ["processor_count"] = Environment.ProcessorCount,
            };
            foreach (var (key, value) in _facts)
            {
                figures[key] = value;
            }

            Console.WriteLine();
            Console.WriteLine("Ratios appliance / nginx (throughput: higher is better; p99 and CPU-s/GB: lower is better):");
            var ratios = new Table("case", "conns", "throughput", "p99", "CPU-s/GB", "goal (>=1.0x, p99 <=)");
            var goalMet = true;
            foreach (var group in cells.GroupBy(s => (s.Case, s.Connections)))
            {
                var n = group.FirstOrDefault(s => s.Server == Nginx);
                var a = group.FirstOrDefault(s => s.Server == Appliance);
                if (n is null || a is null)
                {
                    continue;
                }

                var prefix = $"{Label(group.Key.Case)}_c{group.Key.Connections}";
                var throughput = a.GigabytesPerSecond / n.GigabytesPerSecond;
                var p99 = a.P99Ms / n.P99Ms;
                var cpu = a.CpuSecondsPerGigabyte / n.CpuSecondsPerGigabyte;
                var met = throughput >= 1.0 && p99 <= 1.0;
                goalMet &= met;
                ratios.Add(Label(group.Key.Case), group.Key.Connections, F(throughput, "F2") + "x", F(p99, "F2") + "x", F(cpu, "F2") + "x", met ? "met" : "not met");
                foreach (var s in new[] { n, a })
                {
                    figures[$"{prefix}_{s.Server}_gbps"] = Json(s.GigabytesPerSecond);
                    figures[$"{prefix}_{s.Server}_rps"] = Json(s.RequestsPerSecond);
                    figures[$"{prefix}_{s.Server}_p50_ms"] = Json(s.P50Ms);
                    figures[$"{prefix}_{s.Server}_p99_ms"] = Json(s.P99Ms);
                    figures[$"{prefix}_{s.Server}_errors"] = s.Errors;
                    figures[$"{prefix}_{s.Server}_cpu_s_per_gb"] = Json(s.CpuSecondsPerGigabyte);
                }

                figures[$"{prefix}_throughput_ratio"] = Json(throughput);
                figures[$"{prefix}_p99_ratio"] = Json(p99);
                figures[$"{prefix}_cpu_per_gb_ratio"] = Json(cpu);
            }

            Console.Write(ratios);
            figures["goal_met"] = goalMet;
            figures["tier_checks_ok"] = _problems.Count == 0;
            figures["problems"] = _problems;
            figures["runs"] = _runs.Select(r => new Dictionary<string, object?>
            {
                ["case"] = Label(r.Case),
                ["server"] = r.Server,
                ["connections"] = r.Connections,
                ["round"] = r.Round,
                ["gbps"] = Json(r.Wrk.GigabytesPerSecond),
                ["rps"] = Json(r.Wrk.RequestsPerSecond),
                ["requests"] = r.Wrk.Requests,
                ["p50_ms"] = Json(r.Wrk.P50Ms),
                ["p99_ms"] = Json(r.Wrk.P99Ms),
                ["errors"] = r.Wrk.Errors,
                ["timeouts"] = r.Wrk.Timeouts,
                ["cpu_s"] = Json(r.ServerCpuSeconds),
                ["cpu_s_per_gb"] = Json(r.CpuSecondsPerGigabyte),
                ["core0_busy_pct"] = Json(r.Core0BusyPercent),
                ["core1_busy_pct"] = Json(r.Core1BusyPercent),
                ["tier_requests"] = r.TierRequests,
            }).ToList();

            Console.WriteLine();
            Console.WriteLine("Loopback with wrk on the other core: when wrk's core is saturated, GB/s and latency measure wrk as much as the server; CPU-s/GB is the server's own cost. Other load on the machine makes single runs noisy: compare ratios, not absolute numbers.");
            foreach (var problem in _problems)
            {
                Console.WriteLine($"PROBLEM: {problem}");
            }

            Summary.WriteJsonLine(figures);
            return _problems.Count == 0 ? 0 : 1;
        }

        private async Task<RunResult> MeasureAsync(TierCase tier, string server, ChildProcess process, int port, ApplianceServer? appliance, int connections, int round, CancellationToken cancellationToken)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{server} exited (code {process.ExitCode}) before a run:\n{process.Output}");
            }

            var before = appliance is null ? null : await appliance.ScrapeAsync(cancellationToken).ConfigureAwait(false);
            var load = CoreLoad.Read();
            var cpu = process.CpuSeconds();
            var report = await WrkAsync(port, connections, settings.Seconds, cancellationToken).ConfigureAwait(false);
            var cpuSeconds = process.CpuSeconds() - cpu;
            var after = CoreLoad.Read();
            double? tierRequests = null;
            if (appliance is not null)
            {
                var metrics = await appliance.ScrapeAsync(cancellationToken).ConfigureAwait(false);
                tierRequests = CheckTier(tier, before!, metrics, report, connections, round);
            }

            return new RunResult(tier, server, connections, round, report, cpuSeconds, after.BusyPercentSince(load, 0), after.BusyPercentSince(load, 1), tierRequests);
        }

        /// <summary>Every request wrk completed must have been served from the tier the case claims (a few in flight at the end may count on one side only).</summary>
        private double CheckTier(TierCase tier, PrometheusText before, PrometheusText after, WrkReport report, int connections, int round)
        {
            const string Requests = "openconnect_appliance_requests_total";
            var label = Label(tier);
            var served = after.Value(Requests, label) - before.Value(Requests, label);
            var elsewhere = new[] { "ram", "ssd", "miss" }.Where(t => t != label).Sum(t => after.Value(Requests, t) - before.Value(Requests, t));
            if (served < 0.95 * report.Requests || served > report.Requests + connections + 1 || elsewhere > 0)
            {
                _problems.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{label} c{connections} round {round}: wrk completed {report.Requests} requests but the appliance counted {served} from the {label} tier and {elsewhere} from other tiers"));
            }

            return served;
        }

        private async Task<WrkReport> WrkAsync(int port, int connections, int seconds, CancellationToken cancellationToken)
        {
            var (code, output) = await ChildProcess.RunAsync(tools.Taskset, WrkArgs(port, connections, seconds), TimeSpan.FromSeconds(seconds + 60), cancellationToken).ConfigureAwait(false);
            if (code != 0)
            {
                throw new InvalidOperationException($"wrk exited with code {code}:\n{output}");
            }

            return WrkReport.Parse(output);
        }

        private string[] WrkArgs(int port, int connections, int seconds) =>
        [
            "-c", "1", tools.Wrk, "-t1", $"-c{connections}", $"-d{seconds}s", "--timeout", "5s", "--latency", "-s", lua, $"http://127.0.0.1:{port}/",
        ];

        /// <summary>Attaches strace to the appliance for about a second under SSD-tier load and counts sendfile(2) calls.</summary>
        private async Task TraceSendfileAsync(ApplianceServer appliance, int connections, CancellationToken cancellationToken)
        {
            if (tools.Strace is null || tools.Timeout is null)
            {
                var missing = tools.Strace is null ? "strace not installed" : "timeout (coreutils) not installed";
                Console.WriteLine($"zero-copy check skipped: {missing}");
                _facts["ssd_sendfile_calls"] = null;
                _facts["ssd_sendfile_check"] = missing;
                return;
            }

            var file = Path.Combine(temp, "strace-sendfile.txt");
            var load = WrkAsync(appliance.Port, connections, 3, cancellationToken);
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            var (_, output) = await ChildProcess.RunAsync(tools.Timeout, ["-s", "INT", "1", tools.Strace, "-f", "-e", "trace=sendfile", "-p", appliance.Process.Id.ToString(CultureInfo.InvariantCulture), "-o", file], TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
            await load.ConfigureAwait(false);
            var lines = File.Exists(file) ? await File.ReadAllLinesAsync(file, cancellationToken).ConfigureAwait(false) : [];
            var calls = lines.Count(l => l.Contains("sendfile(", StringComparison.Ordinal));
            var again = lines.Count(l => l.Contains("EAGAIN", StringComparison.Ordinal));
            var sample = lines.FirstOrDefault(l => l.Contains("sendfile(", StringComparison.Ordinal) && l.Contains(" = ", StringComparison.Ordinal));
            Console.WriteLine($"zero-copy check (ssd, c{connections}, strace ~1 s): {calls} sendfile calls ({again} EAGAIN){(sample is null ? "" : $"; e.g. {sample.Trim()}")}");
            if (calls == 0)
            {
                _problems.Add($"strace saw no sendfile(2) calls from the appliance on the SSD tier: {output.Trim()}");
            }

            _facts["ssd_sendfile_calls"] = calls;
            _facts["ssd_sendfile_eagain"] = again;
            _facts["ssd_sendfile_check"] = "strace -f -e trace=sendfile, ~1 s under load";
        }

        private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

        private static object? Json(double value) => double.IsFinite(value) ? Math.Round(value, 4) : null;
    }

    private static string Label(TierCase tier) => tier == TierCase.Ram ? "ram" : "ssd";
}
