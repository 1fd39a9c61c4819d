using System.Globalization;

namespace OpenConnect.Bench.Throughput;

/// <summary>A server under load in one case: its name in the report, its process, the base URL loaded and its plain HTTP port.</summary>
internal sealed record LoadTarget(string Server, ChildProcess Process, string Url, int PlainPort, ApplianceServer? Appliance);

/// <summary>
/// The state of one bench run: settings, the servers, every measurement and the checks made along the way.
/// Cases run here; the memory, warm-up and soak phases are in the other parts, the report in <c>ThroughputSession.Report.cs</c>.
/// </summary>
internal sealed partial class ThroughputSession(
    ThroughputSettings settings, ToolPaths tools, string repoRoot, string temp, string lua, string uris, IReadOnlyList<string> paths, NginxServer nginx, TlsSetup? tls)
{
    public const string Nginx = "nginx";
    public const string Appliance = "appliance";

    /// <summary>The log case's same-run baseline: an appliance like the logging one, with the access log off.</summary>
    public const string ApplianceLogOff = "appliance-log-off";

    private readonly List<RunResult> _runs = [];
    private readonly List<FixedRateResult> _fixedRate = [];
    private readonly List<string> _problems = [];
    private readonly Dictionary<string, object?> _facts = [];

    public void Note(string key, object? value) => _facts[key] = value;

    public async Task RunCaseAsync(TierCase tier, CancellationToken cancellationToken)
    {
        var label = ThroughputSettings.Label(tier);
        var logPath = tier == TierCase.Log ? Path.Combine(temp, "access-log.json") : null;
        await using var appliance = await StartWarmAsync(label, new ApplianceConfig(tier != TierCase.Ssd, tier == TierCase.Https ? tls : null, logPath), $"appliance-{label}", cancellationToken).ConfigureAwait(false);
        await using var logOff = tier == TierCase.Log
            ? await StartWarmAsync($"{label} (access log off)", new ApplianceConfig(Ram: true), $"appliance-{label}-off", cancellationToken).ConfigureAwait(false)
            : null;
        var targets = new List<LoadTarget>
        {
            new(Nginx, nginx.Process, tier == TierCase.Https ? $"https://127.0.0.1:{nginx.TlsPort}" : $"http://127.0.0.1:{nginx.Port}", nginx.Port, null),
            new(Appliance, appliance.Process, tier == TierCase.Https ? $"https://127.0.0.1:{appliance.TlsPort}" : $"http://127.0.0.1:{appliance.Port}", appliance.Port, appliance),
        };
        if (logOff is not null)
        {
            targets.Add(new(ApplianceLogOff, logOff.Process, $"http://127.0.0.1:{logOff.Port}", logOff.Port, logOff));
        }

        if (tier == TierCase.Https)
        {
            await CheckTlsAsync(nginx.TlsPort!.Value, appliance.TlsPort!.Value, cancellationToken).ConfigureAwait(false);
        }

        if (settings.Memory && tier == settings.Cases[0])
        {
            await MeasureIdleMemoryAsync(label, targets.Take(2).ToList(), cancellationToken).ConfigureAwait(false);
        }

        for (var c = 0; c < settings.Connections.Count; c++)
        {
            var connections = settings.Connections[c];
            if (settings.WarmupSeconds > 0)
            {
                foreach (var target in targets)
                {
                    await WrkAsync(target.Url, connections, settings.WarmupSeconds, cancellationToken).ConfigureAwait(false);
                }
            }

            if (tier == TierCase.Ssd && c == 0)
            {
                await TraceSendfileAsync(appliance, connections, cancellationToken).ConfigureAwait(false);
            }

            for (var round = 1; round <= settings.Rounds; round++)
            {
                // Rotate which server goes first, so drift in the machine's load does not favour one.
                for (var turn = 0; turn < targets.Count; turn++)
                {
                    var target = targets[(turn + round - 1) % targets.Count];
                    var result = await MeasureAsync(tier, target, connections, round, cancellationToken).ConfigureAwait(false);
                    _runs.Add(result);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  {label} c{connections} round {round} {result.Server,-17} {result.Wrk.GigabytesPerSecond:F3} GB/s {result.Wrk.RequestsPerSecond,7:F1} req/s p50 {result.Wrk.P50Ms:F1} ms p99 {result.Wrk.P99Ms:F1} ms errors {result.Wrk.Errors} server CPU {result.ServerCpuPercent:F0}% ({result.CpuSecondsPerGigabyte:F3} CPU-s/GB) RSS {result.RssLoaded?.VmRssKb / 1024.0:F0} MiB core0 {result.Core0BusyPercent:F0}% core1 {result.Core1BusyPercent:F0}%"));
                }
            }

            if (settings.FixedRatePercent > 0)
            {
                await MeasureFixedRateAsync(tier, targets, connections, cancellationToken).ConfigureAwait(false);
            }
        }

        if (tier == TierCase.Log)
        {
            await CheckAccessLogAsync(appliance, logPath!, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<ApplianceServer> StartWarmAsync(string name, ApplianceConfig config, string directory, CancellationToken cancellationToken)
    {
        var tierLabel = config.Ram ? "ram" : "ssd";
        config = config with { Epoll = settings.Epoll };
        var appliance = await ApplianceServer.StartAsync(tools, repoRoot, config, nginx.Port, Path.Combine(temp, directory), cancellationToken).ConfigureAwait(false);
        try
        {
            var passes = await appliance.WarmAsync(tierLabel, paths, cancellationToken).ConfigureAwait(false);
            _facts[$"{directory.Replace("appliance-", "", StringComparison.Ordinal).Replace('-', '_')}_warm_passes"] = passes;
            if (!config.Ram)
            {
                await appliance.ReadCacheFilesAsync(cancellationToken).ConfigureAwait(false);
            }

            var metrics = await appliance.ScrapeAsync(cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"{name} case: appliance pid {appliance.Process.Id} on port {appliance.Port}{(appliance.TlsPort is { } t ? $" and {t} (TLS)" : "")}; warm after {passes} pass(es): ram objects {metrics.Value("openconnect_appliance_tier_objects", "ram")}, ssd objects {metrics.Value("openconnect_appliance_tier_objects", "ssd")}");
            return appliance;
        }
        catch
        {
            await appliance.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task<RunResult> MeasureAsync(TierCase tier, LoadTarget target, int connections, int round, CancellationToken cancellationToken)
    {
        var process = target.Process;
        if (process.HasExited)
        {
            throw new InvalidOperationException($"{target.Server} exited (code {process.ExitCode}) before a run:\n{process.Output}");
        }

        var seconds = settings.SaturationSeconds(connections);
        var before = target.Appliance is null ? null : await target.Appliance.ScrapeAsync(cancellationToken).ConfigureAwait(false);
        var rssBefore = ProcessMemory.Read(process.Id);
        var load = CoreLoad.Read();
        var cpu = process.CpuSeconds();
        var wrk = WrkAsync(target.Url, connections, seconds, cancellationToken);

        // Halfway through, every connection is open and loaded: the resident memory under load.
        await Task.WhenAny(wrk, Task.Delay(TimeSpan.FromSeconds(seconds / 2.0), cancellationToken)).ConfigureAwait(false);
        var rssLoaded = process.HasExited ? null : ProcessMemory.Read(process.Id);
        var report = await wrk.ConfigureAwait(false);
        var cpuSeconds = process.CpuSeconds() - cpu;
        var after = CoreLoad.Read();
        double? tierRequests = null;
        if (target.Appliance is not null)
        {
            var metrics = await target.Appliance.ScrapeAsync(cancellationToken).ConfigureAwait(false);
            tierRequests = CheckTier(tier, before!, metrics, report.Requests, connections, $"{target.Server} c{connections} round {round}");
        }

        return new RunResult(tier, target.Server, connections, round, report, cpuSeconds, after.BusyPercentSince(load, 0), after.BusyPercentSince(load, 1), tierRequests)
        {
            RssBefore = rssBefore,
            RssLoaded = rssLoaded,
        };
    }

    /// <summary>
    /// Every request completed must have been served from the tier the case claims (a few in flight at the end may
    /// count on one side only). Today's HTTPS handler counts no requests at all: then the check is skipped and said so.
    /// </summary>
    private double CheckTier(TierCase tier, PrometheusText before, PrometheusText after, long completed, int connections, string what)
    {
        const string Requests = "openconnect_appliance_requests_total";
        var label = tier == TierCase.Ssd ? "ssd" : "ram";
        var served = after.Value(Requests, label) - before.Value(Requests, label);
        var elsewhere = new[] { "ram", "ssd", "miss" }.Where(t => t != label).Sum(t => after.Value(Requests, t) - before.Value(Requests, t));
        if (tier == TierCase.Https && served == 0 && elsewhere == 0)
        {
            _facts["https_tier_check"] = "skipped: the appliance's HTTPS path counted no requests on any tier";
            return 0;
        }

        if (served < 0.95 * completed || served > completed + connections + 1 || elsewhere > 0)
        {
            _problems.Add(string.Create(CultureInfo.InvariantCulture,
                $"{ThroughputSettings.Label(tier)} {what}: the load generator completed {completed} requests but the appliance counted {served} from the {label} tier and {elsewhere} from other tiers"));
        }

        return served;
    }

    /// <summary>
    /// h2load --h1 at a fixed request rate, <see cref="ThroughputSettings.FixedRatePercent"/> % of nginx's median
    /// saturated rate at this case and connection count (its GB/s in whole 2 MB responses: at 10,000 connections
    /// few responses complete within a run, so wrk's req/s undercounts), with that many connections open: h2load sends on
    /// <see cref="FixedRateReport.ActiveConnections"/> of them (h2load sends a first request on every connection
    /// as it opens, a burst that would swamp the rate at 10,000) and the rest are held open idle by the bench,
    /// as most players' connections are between segments. Servers rotate.
    /// </summary>
    private async Task MeasureFixedRateAsync(TierCase tier, IReadOnlyList<LoadTarget> targets, int connections, CancellationToken cancellationToken)
    {
        var saturated = CellSummary.Median(_runs.Where(r => r.Case == tier && r.Server == Nginx && r.Connections == connections).Select(r => r.Wrk.BytesPerSecond / ThroughputSettings.FileBytes));
        if (!(saturated > 0))
        {
            _problems.Add($"{ThroughputSettings.Label(tier)} c{connections}: no nginx req/s to derive a fixed rate from");
            return;
        }

        var active = Math.Min(connections, FixedRateReport.ActiveConnections);
        var perConnection = FixedRateReport.PerConnectionRate(saturated, settings.FixedRatePercent, active);
        var offered = perConnection * active;
        for (var turn = 0; turn < targets.Count; turn++)
        {
            var target = targets[(turn + connections) % targets.Count];
            using var idle = await IdleConnections.OpenAsync(target.PlainPort, connections - active, cancellationToken).ConfigureAwait(false);
            if (idle.Failed > 0)
            {
                _problems.Add($"{ThroughputSettings.Label(tier)} c{connections} fixed rate {target.Server}: {idle.Failed} of {connections - active} idle connections could not be opened");
            }

            var before = target.Appliance is null ? null : await target.Appliance.ScrapeAsync(cancellationToken).ConfigureAwait(false);
            var report = await H2loadAsync(target.Url, active, perConnection, offered, settings.Seconds, cancellationToken).ConfigureAwait(false);
            if (target.Appliance is not null)
            {
                var metrics = await target.Appliance.ScrapeAsync(cancellationToken).ConfigureAwait(false);
                CheckTier(tier, before!, metrics, report.Completed, connections, $"{target.Server} c{connections} fixed rate");
            }

            // Requests still in flight at the end (at most one per sending connection) are not a shortfall.
            if (report.Completed + active < 0.9 * offered * settings.Seconds)
            {
                _problems.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{ThroughputSettings.Label(tier)} c{connections} fixed rate {target.Server}: {report.Completed} requests completed of {offered * settings.Seconds:F0} offered (the rate is not below what it serves)"));
            }

            _fixedRate.Add(new FixedRateResult(tier, target.Server, connections, report));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {ThroughputSettings.Label(tier)} c{connections} fixed rate {offered:F0} req/s on {active} (+{idle.Opened} idle) {target.Server,-17} achieved {report.AchievedPerSecond:F1} req/s p50 {report.P50Ms:F1} ms p99 {report.P99Ms:F1} ms errors {report.Errors}"));
        }
    }

    private async Task<WrkReport> WrkAsync(string url, int connections, int seconds, CancellationToken cancellationToken)
    {
        var (file, args) = tools.OnCore(1, tools.Wrk,
        [
            "-t1", $"-c{connections}", $"-d{seconds}s", "--timeout", $"{ThroughputSettings.WrkTimeoutSeconds(connections)}s", "--latency", "-s", lua, url + "/",
        ]);
        var (code, output) = await ChildProcess.RunAsync(file, args, TimeSpan.FromSeconds(seconds + 120), cancellationToken).ConfigureAwait(false);
        if (code != 0)
        {
            throw new InvalidOperationException($"wrk exited with code {code}:\n{output}");
        }

        return WrkReport.Parse(output);
    }

    private async Task<FixedRateReport> H2loadAsync(string url, int connections, double perConnection, double offered, int seconds, CancellationToken cancellationToken)
    {
        var log = Path.Combine(temp, "h2load.log");
        File.Delete(log);
        var (file, args) = tools.OnCore(1, tools.H2loadPath,
        [
            "--h1", "-t1", $"-c{connections}", string.Create(CultureInfo.InvariantCulture, $"--rps={perConnection:0.######}"),
            $"-D{seconds}", "--log-file", log, "-i", uris, "-B", url,
        ]);
        var (code, output) = await ChildProcess.RunAsync(file, args, TimeSpan.FromSeconds(seconds + 180), cancellationToken).ConfigureAwait(false);
        if (code != 0 || !File.Exists(log))
        {
            throw new InvalidOperationException($"h2load exited with code {code}:\n{output}");
        }

        return FixedRateReport.Parse(await File.ReadAllTextAsync(log, cancellationToken).ConfigureAwait(false), offered, seconds);
    }

    /// <summary>Both servers must negotiate the same protocol and cipher suite, or the HTTPS comparison is not like for like.</summary>
    private async Task CheckTlsAsync(int nginxPort, int appliancePort, CancellationToken cancellationToken)
    {
        var n = await TlsSetup.NegotiatedAsync(tools, nginxPort, cancellationToken).ConfigureAwait(false);
        var a = await TlsSetup.NegotiatedAsync(tools, appliancePort, cancellationToken).ConfigureAwait(false);
        _facts["https_nginx_tls"] = n;
        _facts["https_appliance_tls"] = a;
        _facts["https_certificate"] = "self-signed ECDSA P-256, made per run with openssl";
        Console.WriteLine($"https case: nginx negotiates {n}, the appliance {a} (same ECDSA P-256 certificate)");
        if (n != a || n != $"{TlsSetup.Protocol} {TlsSetup.CipherSuite}")
        {
            _problems.Add($"https: nginx negotiated {n} and the appliance {a}; both must be {TlsSetup.Protocol} {TlsSetup.CipherSuite}");
        }
    }

    /// <summary>The logging appliance wrote lines and dropped none (a dropped line would make the log look cheaper than it is).</summary>
    private async Task CheckAccessLogAsync(ApplianceServer appliance, string logPath, CancellationToken cancellationToken)
    {
        var metrics = await appliance.ScrapeAsync(cancellationToken).ConfigureAwait(false);
        var dropped = metrics.Value("openconnect_appliance_access_log_dropped_total");
        var lines = File.Exists(logPath) ? File.ReadLines(logPath).LongCount() : 0;
        _facts["log_access_log_lines"] = lines;
        _facts["log_access_log_dropped"] = dropped;
        _facts["log_access_log_format"] = "json";
        Console.WriteLine($"log case: the access log has {lines} lines, {dropped} dropped");
        if (lines == 0 || dropped > 0)
        {
            _problems.Add($"log: the access log at {logPath} has {lines} lines and {dropped} were dropped");
        }
    }
}
