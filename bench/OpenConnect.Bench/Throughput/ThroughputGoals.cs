namespace OpenConnect.Bench.Throughput;

/// <summary>
/// The goals of the data-plane issue as numbers, and the small sums the report makes with them. A figure
/// that could not be measured (NaN) misses its goal: a goal is met only by a measurement.
/// </summary>
public static class ThroughputGoals
{
    /// <summary>Appliance CPU-s/GB over nginx's on the RAM and SSD tiers (and with the access log on), at most.</summary>
    public const double CpuRatio = 1.0;

    /// <summary>Appliance CPU-s/GB over nginx's with TLS on both, at most.</summary>
    public const double HttpsCpuRatio = 1.1;

    /// <summary>Appliance throughput over nginx's at saturation, at least.</summary>
    public const double ThroughputRatio = 1.0;

    /// <summary>Appliance p99 over nginx's, at saturation and at the fixed rate, at most.</summary>
    public const double P99Ratio = 1.0;

    /// <summary>Extra appliance CPU-s/GB with the access log on, in percent of it off, at most.</summary>
    public const double AccessLogCostPercent = 3.0;

    /// <summary>p99 over the first seconds after start over steady-state p99, at most.</summary>
    public const double WarmupP99Ratio = 1.5;

    /// <summary>Appliance resident memory per connection over nginx's, at most.</summary>
    public const double MemoryPerConnectionRatio = 4.0;

    /// <summary>Below this many connections the per-connection memory is too small against RSS noise to compare, so it is reported but not judged.</summary>
    public const int MemoryMinConnections = 1000;

    /// <summary>RSS growth under steady load, last window over first, in percent, at most ("flat").</summary>
    public const double SoakGrowthPercent = 5.0;

    /// <summary>The goals one (case, connections) cell misses, by name; empty when it meets all of them.</summary>
    public static IReadOnlyList<string> CellMisses(TierCase tier, double throughputRatio, double p99Ratio, double cpuRatio, double fixedRateP99Ratio, double accessLogCostPercent)
    {
        var misses = new List<string>();
        var cpuLimit = tier == TierCase.Https ? HttpsCpuRatio : CpuRatio;
        if (!(cpuRatio <= cpuLimit))
        {
            misses.Add($"CPU-s/GB <= {cpuLimit:0.0#}x");
        }

        if (tier == TierCase.Log)
        {
            // The log case's own question is the log's cost; throughput and latency are the RAM case's.
            if (!(accessLogCostPercent <= AccessLogCostPercent))
            {
                misses.Add($"log cost <= {AccessLogCostPercent:0.#} %");
            }

            return misses;
        }

        if (!(throughputRatio >= ThroughputRatio))
        {
            misses.Add($"throughput >= {ThroughputRatio:0.0#}x");
        }

        if (!(p99Ratio <= P99Ratio))
        {
            misses.Add($"p99 <= {P99Ratio:0.0#}x");
        }

        if (!double.IsNaN(fixedRateP99Ratio) && !(fixedRateP99Ratio <= P99Ratio))
        {
            misses.Add($"fixed-rate p99 <= {P99Ratio:0.0#}x");
        }

        return misses;
    }

    /// <summary>Extra CPU in percent of <paramref name="off"/>: (on / off − 1) × 100.</summary>
    public static double CostPercent(double on, double off) => off > 0 ? (on / off - 1) * 100 : double.NaN;

    /// <summary>Appliance over nginx per-connection memory; NaN when nginx's is not positive (nothing to compare against).</summary>
    public static double MemoryRatio(double appliancePerConnectionKb, double nginxPerConnectionKb) =>
        nginxPerConnectionKb > 0 ? appliancePerConnectionKb / nginxPerConnectionKb : double.NaN;

    /// <summary>
    /// Growth in percent of the mean of the samples in the last <paramref name="windowSeconds"/> over the mean
    /// of those in the first: samples are (seconds since the load started, KiB). NaN with fewer than two samples.
    /// </summary>
    public static double GrowthPercent(IReadOnlyList<(double Seconds, long Kb)> samples, double windowSeconds)
    {
        if (samples.Count < 2)
        {
            return double.NaN;
        }

        var start = samples[0].Seconds;
        var end = samples[^1].Seconds;
        var first = samples.Where(s => s.Seconds <= start + windowSeconds).Select(s => (double)s.Kb).ToList();
        var last = samples.Where(s => s.Seconds >= end - windowSeconds).Select(s => (double)s.Kb).ToList();
        var firstMean = first.Average();
        return firstMean > 0 ? (last.Average() / firstMean - 1) * 100 : double.NaN;
    }
}
