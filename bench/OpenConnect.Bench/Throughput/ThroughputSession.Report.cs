using System.Globalization;
using System.Text.Json;
using OpenConnect.Bench.Charts;

namespace OpenConnect.Bench.Throughput;

/// <summary>The report: tables on the console, the JSON line (keys per case and connection count), the goals and the chart.</summary>
internal sealed partial class ThroughputSession
{
    /// <summary>Prints the tables and the JSON line, draws the chart; 0 when every check passed (goals are reported, not enforced).</summary>
    public int Report(string? chartPath)
    {
        var cells = _runs
            .GroupBy(r => (r.Case, r.Server, r.Connections))
            .Select(g => new CellSummary(g.Key.Case, g.Key.Server, g.Key.Connections, [.. g]))
            .OrderBy(s => s.Case).ThenBy(s => s.Connections).ThenBy(s => ServerOrder(s.Server))
            .ToList();

        Console.WriteLine();
        Console.WriteLine("Medians over rounds (GB = 10^9 bytes; CPU-s/GB = server CPU seconds per GB delivered, all rounds summed; srv CPU = share of core 0; RSS halfway through the run):");
        var table = new Table("case", "server", "conns", "GB/s", "GB/s min-max", "req/s", "p50 ms", "p99 ms", "errors", "CPU-s/GB", "srv CPU %", "RSS MiB", "KiB/conn", "fixed req/s", "fixed p50", "fixed p99");
        foreach (var s in cells)
        {
            var f = FixedRate(s.Case, s.Server, s.Connections);
            table.Add(ThroughputSettings.Label(s.Case), s.Server, s.Connections, F(s.GigabytesPerSecond, "F3"),
                $"{F(s.MinGigabytesPerSecond, "F3")}-{F(s.MaxGigabytesPerSecond, "F3")}",
                F(s.RequestsPerSecond, "F0"), F(s.P50Ms, "F1"), F(s.P99Ms, "F1"), s.Errors, F(s.CpuSecondsPerGigabyte, "F3"), F(s.ServerCpuPercent, "F0"),
                F(s.LoadedRssKb / 1024, "F0"), F(s.LoadedPerConnectionKb, "F1"),
                f is null ? "-" : F(f.AchievedPerSecond, "F0"), f is null ? "-" : F(f.P50Ms, "F1"), f is null ? "-" : F(f.P99Ms, "F1"));
        }

        Console.Write(table);

        var figures = new Dictionary<string, object?>
        {
            ["scenario"] = "throughput",
            ["files"] = settings.Files,
            ["file_bytes"] = ThroughputSettings.FileBytes,
            ["seconds"] = settings.Seconds,
            ["seconds_by_connections"] = settings.Connections.ToDictionary(c => c.ToString(CultureInfo.InvariantCulture), settings.SaturationSeconds),
            ["rounds"] = settings.Rounds,
            ["warmup_seconds"] = settings.WarmupSeconds,
            ["connections"] = settings.Connections,
            ["transport"] = settings.Epoll ? "epoll" : "kestrel",
            ["cases"] = settings.Cases.Select(ThroughputSettings.Label).ToArray(),
            ["fixed_rate_percent"] = settings.FixedRatePercent,
            ["fixed_rate_generator"] = "h2load --h1 -t1 --rps (per connection), pinned to core 1",
            ["pinning"] = "servers taskset -c 0, wrk -t1 and h2load -t1 taskset -c 1",
            ["open_files"] = tools.EffectiveOpenFiles,
            ["appliance_max_connections_per_client"] = ApplianceServer.MaxConnectionsPerClient,
            ["nginx_open_file_cache"] = "off",
            ["processor_count"] = Environment.ProcessorCount,
        };
        foreach (var (key, value) in _facts)
        {
            figures[key] = value;
        }

        var goals = new Dictionary<string, bool>();
        Console.WriteLine();
        Console.WriteLine("Ratios appliance / nginx (throughput: higher is better; p99 and CPU-s/GB: lower is better; fixed p99 at the same offered req/s):");
        var ratios = new Table("case", "conns", "throughput", "p99", "CPU-s/GB", "fixed p99", "log cost", "loaded KiB/conn", "goals");
        foreach (var group in cells.GroupBy(s => (s.Case, s.Connections)))
        {
            var n = group.FirstOrDefault(s => s.Server == Nginx);
            var a = group.FirstOrDefault(s => s.Server == Appliance);
            if (n is null || a is null)
            {
                continue;
            }

            var (tier, connections) = group.Key;
            var prefix = $"{ThroughputSettings.Label(tier)}_c{connections}";
            var throughput = a.GigabytesPerSecond / n.GigabytesPerSecond;
            var p99 = a.P99Ms / n.P99Ms;
            var cpu = a.CpuSecondsPerGigabyte / n.CpuSecondsPerGigabyte;
            var fn = FixedRate(tier, Nginx, connections);
            var fa = FixedRate(tier, Appliance, connections);
            var fixedP99 = fn is not null && fa is not null ? fa.P99Ms / fn.P99Ms : double.NaN;
            var off = group.FirstOrDefault(s => s.Server == ApplianceLogOff);
            var logCost = off is null ? double.NaN : ThroughputGoals.CostPercent(a.CpuSecondsPerGigabyte, off.CpuSecondsPerGigabyte);
            var memory = ThroughputGoals.MemoryRatio(a.LoadedPerConnectionKb, n.LoadedPerConnectionKb);
            var misses = ThroughputGoals.CellMisses(tier, throughput, p99, cpu, fixedP99, logCost).ToList();
            if (connections >= ThroughputGoals.MemoryMinConnections && double.IsFinite(memory) && memory > ThroughputGoals.MemoryPerConnectionRatio)
            {
                misses.Add($"loaded memory/conn <= {ThroughputGoals.MemoryPerConnectionRatio:0}x");
            }

            goals[prefix] = misses.Count == 0;
            ratios.Add(ThroughputSettings.Label(tier), connections, X(throughput), X(p99), X(cpu), X(fixedP99),
                double.IsNaN(logCost) ? "-" : F(logCost, "F1") + " %", X(memory), misses.Count == 0 ? "met" : "missed: " + string.Join(", ", misses));
            foreach (var s in group)
            {
                AddCellFigures(figures, prefix, s);
            }

            figures[$"{prefix}_throughput_ratio"] = Json(throughput);
            figures[$"{prefix}_p99_ratio"] = Json(p99);
            figures[$"{prefix}_cpu_per_gb_ratio"] = Json(cpu);
            figures[$"{prefix}_fixed_rate_p99_ratio"] = Json(fixedP99);
            figures[$"{prefix}_loaded_per_conn_ratio"] = Json(memory);
            if (off is not null)
            {
                figures[$"{prefix}_access_log_cpu_cost_pct"] = Json(logCost);
            }

            figures[$"{prefix}_goal_met"] = misses.Count == 0;
            figures[$"{prefix}_goal_misses"] = misses;
        }

        Console.Write(ratios);
        ReportIdleMemory(figures, goals);
        ReportWarmup(figures, goals);
        ReportSoak(figures, goals);

        figures["goals"] = goals;
        figures["goal_met"] = goals.Count > 0 && goals.Values.All(met => met);
        figures["tier_checks_ok"] = _problems.Count == 0;
        figures["problems"] = _problems;
        figures["runs"] = _runs.Select(RunFigures).ToList();
        figures["fixed_rate_runs"] = _fixedRate.Select(r => new Dictionary<string, object?>
        {
            ["case"] = ThroughputSettings.Label(r.Case),
            ["server"] = r.Server,
            ["connections"] = r.Connections,
            ["offered_rps"] = Json(r.Report.OfferedPerSecond),
            ["achieved_rps"] = Json(r.Report.AchievedPerSecond),
            ["p50_ms"] = Json(r.Report.P50Ms),
            ["p99_ms"] = Json(r.Report.P99Ms),
            ["errors"] = r.Report.Errors,
        }).ToList();

        Console.WriteLine();
        Console.WriteLine($"Goals: {string.Join(", ", goals.Select(g => $"{g.Key} {(g.Value ? "met" : "missed")}"))}");
        Console.WriteLine("Loopback with wrk on the other core: when wrk's core is saturated, GB/s and saturated latency measure wrk as much as the server; CPU-s/GB is the server's own cost and the fixed rate compares latency at the same offered load. Other load on the machine makes single runs noisy: compare ratios, not absolute numbers.");
        foreach (var problem in _problems)
        {
            Console.WriteLine($"PROBLEM: {problem}");
        }

        if (chartPath is not null && cells.Count > 0)
        {
            figures["chart"] = WriteChart(cells, chartPath);
            File.WriteAllText(Path.ChangeExtension(chartPath, ".json"), JsonSerializer.Serialize(figures) + "\n");
            Console.WriteLine($"chart: {chartPath}, JSON copy: {Path.ChangeExtension(chartPath, ".json")}");
        }

        Summary.WriteJsonLine(figures);
        return _problems.Count == 0 ? 0 : 1;
    }

    private FixedRateReport? FixedRate(TierCase tier, string server, int connections) =>
        _fixedRate.LastOrDefault(r => r.Case == tier && r.Server == server && r.Connections == connections)?.Report;

    private void AddCellFigures(Dictionary<string, object?> figures, string prefix, CellSummary s)
    {
        var key = $"{prefix}_{s.Server.Replace('-', '_')}";
        figures[$"{key}_gbps"] = Json(s.GigabytesPerSecond);
        figures[$"{key}_rps"] = Json(s.RequestsPerSecond);
        figures[$"{key}_p50_ms"] = Json(s.P50Ms);
        figures[$"{key}_p99_ms"] = Json(s.P99Ms);
        figures[$"{key}_errors"] = s.Errors;
        figures[$"{key}_cpu_s_per_gb"] = Json(s.CpuSecondsPerGigabyte);
        figures[$"{key}_loaded_rss_kb"] = Json(s.LoadedRssKb);
        figures[$"{key}_loaded_per_conn_kb"] = Json(s.LoadedPerConnectionKb);
        if (FixedRate(s.Case, s.Server, s.Connections) is { } f)
        {
            figures[$"{key}_fixed_rate_offered_rps"] = Json(f.OfferedPerSecond);
            figures[$"{key}_fixed_rate_rps"] = Json(f.AchievedPerSecond);
            figures[$"{key}_fixed_rate_p50_ms"] = Json(f.P50Ms);
            figures[$"{key}_fixed_rate_p99_ms"] = Json(f.P99Ms);
            figures[$"{key}_fixed_rate_errors"] = f.Errors;
        }
    }

    private static Dictionary<string, object?> RunFigures(RunResult r) => new()
    {
        ["case"] = ThroughputSettings.Label(r.Case),
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
        ["rss_before_kb"] = r.RssBefore?.VmRssKb,
        ["rss_loaded_kb"] = r.RssLoaded?.VmRssKb,
        ["rss_loaded_anon_kb"] = r.RssLoaded?.RssAnonKb,
        ["rss_loaded_file_kb"] = r.RssLoaded?.RssFileKb,
    };

    private void ReportIdleMemory(Dictionary<string, object?> figures, Dictionary<string, bool> goals)
    {
        if (_idleMemory.Count == 0)
        {
            return;
        }

        Console.WriteLine();
        Console.WriteLine($"Idle memory (N connections open, no request; per connection = (VmRSS at N - VmRSS at 0) / N; judged from {ThroughputGoals.MemoryMinConnections} connections, goal appliance <= {ThroughputGoals.MemoryPerConnectionRatio:0}x nginx):");
        var table = new Table("conns", "server", "RSS at 0 MiB", "RSS at N MiB", "anon MiB", "file MiB", "KiB/conn", "ratio");
        foreach (var group in _idleMemory.GroupBy(m => m.Connections))
        {
            var n = group.FirstOrDefault(m => m.Server == Nginx);
            var a = group.FirstOrDefault(m => m.Server == Appliance);
            var ratio = n is not null && a is not null ? ThroughputGoals.MemoryRatio(a.PerConnectionKb, n.PerConnectionKb) : double.NaN;
            foreach (var m in group)
            {
                var key = $"memory_c{m.Connections}_{m.Server}";
                figures[$"{key}_idle_rss_before_kb"] = m.Before.VmRssKb;
                figures[$"{key}_idle_rss_kb"] = m.Held.VmRssKb;
                figures[$"{key}_idle_rss_anon_kb"] = m.Held.RssAnonKb;
                figures[$"{key}_idle_rss_file_kb"] = m.Held.RssFileKb;
                figures[$"{key}_idle_opened"] = m.Opened;
                figures[$"{key}_idle_per_conn_kb"] = Json(m.PerConnectionKb);
                table.Add(m.Connections, m.Server, F(m.Before.VmRssKb / 1024.0, "F1"), F(m.Held.VmRssKb / 1024.0, "F1"), F(m.Held.RssAnonKb / 1024.0, "F1"),
                    F(m.Held.RssFileKb / 1024.0, "F1"), F(m.PerConnectionKb, "F2"), m.Server == Appliance ? X(ratio) : "");
            }

            figures[$"memory_c{group.Key}_idle_per_conn_ratio"] = Json(ratio);
            if (group.Key >= ThroughputGoals.MemoryMinConnections)
            {
                goals[$"memory_c{group.Key}_idle"] = ratio <= ThroughputGoals.MemoryPerConnectionRatio;
            }
        }

        Console.Write(table);
    }

    private void ReportWarmup(Dictionary<string, object?> figures, Dictionary<string, bool> goals)
    {
        if (_warmupFirst is null || _warmupSteady is null)
        {
            return;
        }

        var ratio = _warmupFirst.P99Ms / _warmupSteady.P99Ms;
        figures["warmup_connections"] = _warmupConnections;
        figures["warmup_window_seconds"] = WarmupWindowSeconds;
        figures["warmup_first_p99_ms"] = Json(_warmupFirst.P99Ms);
        figures["warmup_first_gbps"] = Json(_warmupFirst.GigabytesPerSecond);
        figures["warmup_first_errors"] = _warmupFirst.Errors;
        figures["warmup_steady_p99_ms"] = Json(_warmupSteady.P99Ms);
        figures["warmup_steady_gbps"] = Json(_warmupSteady.GigabytesPerSecond);
        figures["warmup_p99_ratio"] = Json(ratio);
        goals["warmup"] = ratio <= ThroughputGoals.WarmupP99Ratio;
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Warm-up: p99 first {WarmupWindowSeconds} s / steady state = {X(ratio)} (goal <= {ThroughputGoals.WarmupP99Ratio}x)"));
    }

    private void ReportSoak(Dictionary<string, object?> figures, Dictionary<string, bool> goals)
    {
        if (settings.SoakSeconds == 0)
        {
            return;
        }

        var growth = SoakGrowthPercent();
        figures["soak_seconds"] = settings.SoakSeconds;
        figures["soak_window_seconds"] = Json(SoakWindowSeconds);
        figures["soak_samples"] = _soak.Select(s => new Dictionary<string, object?>
        {
            ["t_s"] = s.Seconds,
            ["rss_kb"] = s.Memory.VmRssKb,
            ["rss_anon_kb"] = s.Memory.RssAnonKb,
            ["rss_file_kb"] = s.Memory.RssFileKb,
        }).ToList();
        figures["soak_rss_growth_pct"] = Json(growth);
        goals["soak"] = growth <= ThroughputGoals.SoakGrowthPercent;
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Soak: appliance RSS growth last {SoakWindowSeconds:F0} s over first = {growth:F1} % (goal <= {ThroughputGoals.SoakGrowthPercent} %)"));
    }

    /// <summary>Draws the panels that have a measured point; returns the PNG's path, or null when nothing was measured.</summary>
    private string? WriteChart(IReadOnlyList<CellSummary> cells, string path)
    {
        var charts = new List<LineChart>
        {
            ThroughputChart.Build("Server CPU-s per GB (lower is better)", "CPU-s/GB", cells, s => s.CpuSecondsPerGigabyte),
            ThroughputChart.Build("p99 at saturation (wrk)", "p99 ms", cells, s => s.P99Ms),
        };
        if (_fixedRate.Count > 0)
        {
            charts.Add(ThroughputChart.Build($"p99 at a fixed rate ({settings.FixedRatePercent} % of nginx's saturated req/s, h2load)", "p99 ms", cells,
                s => FixedRate(s.Case, s.Server, s.Connections)?.P99Ms ?? double.NaN));
        }

        var drawn = charts.Where(c => c.Series.Count > 0).ToList();
        return drawn.Count > 0 ? PngChart.SaveStacked(drawn, path) : null;
    }

    private static int ServerOrder(string server) => server switch
    {
        Nginx => 0,
        Appliance => 1,
        _ => 2,
    };

    private static string F(double value, string format) => double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "-";

    private static string X(double ratio) => double.IsFinite(ratio) ? F(ratio, "F2") + "x" : "-";

    private static object? Json(double value) => double.IsFinite(value) ? Math.Round(value, 4) : null;
}
