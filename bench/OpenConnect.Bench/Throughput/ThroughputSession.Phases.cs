using System.Diagnostics;
using System.Globalization;

namespace OpenConnect.Bench.Throughput;

/// <summary>The phases besides the load cases: the sendfile trace, idle memory, the warm-up check and the memory soak.</summary>
internal sealed partial class ThroughputSession
{
    /// <summary>Seconds of each warm-up window (the issue's "first 10 s after start").</summary>
    public const int WarmupWindowSeconds = 10;

    /// <summary>Seconds between RSS samples in the soak.</summary>
    public const int SoakSampleSeconds = 10;

    private readonly List<IdleMemory> _idleMemory = [];
    private readonly List<(double Seconds, ProcessMemory Memory)> _soak = [];
    private WrkReport? _warmupFirst;
    private WrkReport? _warmupSteady;
    private int _warmupConnections;

    /// <summary>
    /// Resident memory of each server with no connection and with N idle ones (connected, no request sent),
    /// for every N in --connections; measured once, on the first case's servers before any load.
    /// </summary>
    private async Task MeasureIdleMemoryAsync(string caseLabel, IReadOnlyList<LoadTarget> targets, CancellationToken cancellationToken)
    {
        _facts["memory_case"] = caseLabel;
        foreach (var connections in settings.Connections)
        {
            foreach (var target in targets)
            {
                var before = ProcessMemory.Read(target.Process.Id);
                using var idle = await IdleConnections.OpenAsync(target.PlainPort, connections, cancellationToken).ConfigureAwait(false);

                // Let the server accept every connection and set it up before reading its memory.
                await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken).ConfigureAwait(false);
                var held = ProcessMemory.Read(target.Process.Id);
                if (idle.Failed > 0)
                {
                    _problems.Add($"memory c{connections} {target.Server}: {idle.Failed} of {connections} idle connections could not be opened");
                }

                var result = new IdleMemory(target.Server, connections, idle.Opened, before, held);
                _idleMemory.Add(result);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  memory c{connections} idle {target.Server,-9} RSS {before.VmRssKb / 1024.0:F1} -> {held.VmRssKb / 1024.0:F1} MiB (anon {held.RssAnonKb / 1024.0:F1}, file {held.RssFileKb / 1024.0:F1}) = {result.PerConnectionKb:F2} KiB per connection"));
                idle.Dispose();
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// A fresh appliance process on a warm SSD tier, with no load before: p99 over its first seconds against a
    /// window of the same length 10 s later under continued load. The SSD tier is filled by a first process
    /// (warmed through nginx as its parent), which is then stopped; the second process reads the tier back at
    /// start (index recovery), and the cache files are read into the page cache before it starts, as nginx's are.
    /// </summary>
    public async Task WarmupCheckAsync(CancellationToken cancellationToken)
    {
        const string Directory = "appliance-warmup";
        var cacheDirectory = Path.Combine(temp, Directory);
        var filler = await StartWarmAsync("warm-up (filling)", new ApplianceConfig(Ram: false), Directory, cancellationToken).ConfigureAwait(false);
        await filler.DisposeAsync().ConfigureAwait(false);

        await ApplianceServer.ReadFilesAsync(cacheDirectory, cancellationToken).ConfigureAwait(false);
        _warmupConnections = settings.Connections.Min();
        var started = Stopwatch.StartNew();
        await using var fresh = await ApplianceServer.StartAsync(tools, repoRoot, new ApplianceConfig(Ram: false, Epoll: settings.Epoll), nginx.Port, cacheDirectory, cancellationToken).ConfigureAwait(false);
        var ready = started.Elapsed;
        var before = await fresh.ScrapeAsync(cancellationToken).ConfigureAwait(false);
        var objects = before.Value("openconnect_appliance_tier_objects", "ssd");
        if (objects < paths.Count)
        {
            _problems.Add($"warm-up: the restarted appliance holds {objects} of {paths.Count} segments on its SSD tier");
        }

        var url = $"http://127.0.0.1:{fresh.Port}";
        _warmupFirst = await WrkAsync(url, _warmupConnections, WarmupWindowSeconds, cancellationToken).ConfigureAwait(false);
        await WrkAsync(url, _warmupConnections, WarmupWindowSeconds, cancellationToken).ConfigureAwait(false);
        var steadyBefore = await fresh.ScrapeAsync(cancellationToken).ConfigureAwait(false);
        _warmupSteady = await WrkAsync(url, _warmupConnections, WarmupWindowSeconds, cancellationToken).ConfigureAwait(false);
        var after = await fresh.ScrapeAsync(cancellationToken).ConfigureAwait(false);
        CheckTier(TierCase.Ssd, steadyBefore, after, _warmupSteady.Requests, _warmupConnections, "warm-up steady state");
        _facts["warmup_ssd_objects_after_restart"] = objects;
        _facts["warmup_ready_seconds"] = Math.Round(ready.TotalSeconds, 2);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"warm-up check (fresh appliance on a warm SSD tier, {objects} objects, answering {ready.TotalSeconds:F1} s after exec, c{_warmupConnections}): first {WarmupWindowSeconds} s p99 {_warmupFirst.P99Ms:F1} ms ({_warmupFirst.GigabytesPerSecond:F3} GB/s), steady state {WarmupWindowSeconds} s later p99 {_warmupSteady.P99Ms:F1} ms ({_warmupSteady.GigabytesPerSecond:F3} GB/s)"));
    }

    /// <summary>
    /// A fresh RAM-tier appliance under wrk load for --soak seconds at the largest connection count, its RSS
    /// sampled every 10 s: growth is the mean of the last minute over the first (a third of the run when shorter).
    /// </summary>
    public async Task SoakAsync(CancellationToken cancellationToken)
    {
        await using var appliance = await StartWarmAsync("soak", new ApplianceConfig(Ram: true), "appliance-soak", cancellationToken).ConfigureAwait(false);
        var connections = settings.MaxConnections;
        var url = $"http://127.0.0.1:{appliance.Port}";
        var before = await appliance.ScrapeAsync(cancellationToken).ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        var wrk = WrkAsync(url, connections, settings.SoakSeconds, cancellationToken);
        while (!wrk.IsCompleted)
        {
            await Task.WhenAny(wrk, Task.Delay(TimeSpan.FromSeconds(SoakSampleSeconds), cancellationToken)).ConfigureAwait(false);
            if (!wrk.IsCompleted && !appliance.Process.HasExited)
            {
                _soak.Add((Math.Round(clock.Elapsed.TotalSeconds, 1), ProcessMemory.Read(appliance.Process.Id)));
            }
        }

        var report = await wrk.ConfigureAwait(false);
        var after = await appliance.ScrapeAsync(cancellationToken).ConfigureAwait(false);
        CheckTier(TierCase.Ram, before, after, report.Requests, connections, "soak");
        _facts["soak_connections"] = connections;
        _facts["soak_gbps"] = Json(report.GigabytesPerSecond);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"soak: {settings.SoakSeconds} s at c{connections}, {report.GigabytesPerSecond:F3} GB/s, {_soak.Count} RSS samples {string.Join(" ", _soak.Select(s => $"{s.Memory.VmRssKb / 1024.0:F0}"))} MiB; growth {SoakGrowthPercent():F1} %"));
    }

    private double SoakWindowSeconds => Math.Min(60, settings.SoakSeconds / 3.0);

    private double SoakGrowthPercent() => ThroughputGoals.GrowthPercent(_soak.Select(s => (s.Seconds, s.Memory.VmRssKb)).ToList(), SoakWindowSeconds);

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
        var load = WrkAsync($"http://127.0.0.1:{appliance.Port}", connections, 3, cancellationToken);
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
}
