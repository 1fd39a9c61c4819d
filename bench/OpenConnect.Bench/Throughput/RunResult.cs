namespace OpenConnect.Bench.Throughput;

/// <summary>One measured wrk run against one server, with that server's CPU time and the machine's load meanwhile.</summary>
public sealed record RunResult(
    TierCase Case,
    string Server,
    int Connections,
    int Round,
    WrkReport Wrk,
    double ServerCpuSeconds,
    double Core0BusyPercent,
    double Core1BusyPercent,
    double? TierRequests)
{
    public double Gigabytes => Wrk.BytesRead / 1e9;

    /// <summary>Server CPU seconds per decimal GB delivered: what the server would need on a NIC wrk cannot saturate.</summary>
    public double CpuSecondsPerGigabyte => Gigabytes > 0 ? ServerCpuSeconds / Gigabytes : double.NaN;

    public double ServerCpuPercent => Wrk.DurationSeconds > 0 ? 100 * ServerCpuSeconds / Wrk.DurationSeconds : double.NaN;

    /// <summary>The server's resident memory just before the run (no connections open).</summary>
    public ProcessMemory? RssBefore { get; init; }

    /// <summary>The server's resident memory halfway through the run, every connection open and loaded.</summary>
    public ProcessMemory? RssLoaded { get; init; }

    /// <summary>(VmRSS under load − VmRSS before) / connections, in KiB; NaN when not sampled.</summary>
    public double LoadedPerConnectionKb => RssBefore is { } before && RssLoaded is { } loaded
        ? ProcessMemory.PerConnectionKb(loaded.VmRssKb, before.VmRssKb, Connections)
        : double.NaN;
}

/// <summary>One fixed-rate run against one server (h2load, rate-limited).</summary>
public sealed record FixedRateResult(TierCase Case, string Server, int Connections, FixedRateReport Report);

/// <summary>A server's resident memory before and while <see cref="Opened"/> idle connections (no request sent) were held open.</summary>
public sealed record IdleMemory(string Server, int Connections, int Opened, ProcessMemory Before, ProcessMemory Held)
{
    public double PerConnectionKb => ProcessMemory.PerConnectionKb(Held.VmRssKb, Before.VmRssKb, Opened);
}

/// <summary>All rounds of one (case, server, connections) cell: medians, and CPU per GB over the summed rounds.</summary>
public sealed record CellSummary(TierCase Case, string Server, int Connections, IReadOnlyList<RunResult> Runs)
{
    public double GigabytesPerSecond => Median(Runs.Select(r => r.Wrk.GigabytesPerSecond));

    public double MinGigabytesPerSecond => Runs.Min(r => r.Wrk.GigabytesPerSecond);

    public double MaxGigabytesPerSecond => Runs.Max(r => r.Wrk.GigabytesPerSecond);

    public double RequestsPerSecond => Median(Runs.Select(r => r.Wrk.RequestsPerSecond));

    public double P50Ms => Median(Runs.Select(r => r.Wrk.P50Ms));

    public double P99Ms => Median(Runs.Select(r => r.Wrk.P99Ms));

    public long Errors => Runs.Sum(r => r.Wrk.Errors);

    public double CpuSecondsPerGigabyte
    {
        get
        {
            var gigabytes = Runs.Sum(r => r.Gigabytes);
            return gigabytes > 0 ? Runs.Sum(r => r.ServerCpuSeconds) / gigabytes : double.NaN;
        }
    }

    public double ServerCpuPercent => Median(Runs.Select(r => r.ServerCpuPercent));

    /// <summary>Median over rounds of the loaded-minus-before RSS per connection, in KiB (NaN when not sampled).</summary>
    public double LoadedPerConnectionKb => Median(Runs.Select(r => r.LoadedPerConnectionKb).Where(double.IsFinite));

    /// <summary>Median over rounds of VmRSS under load, in KiB (NaN when not sampled).</summary>
    public double LoadedRssKb => Median(Runs.Where(r => r.RssLoaded is not null).Select(r => (double)r.RssLoaded!.VmRssKb));

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
