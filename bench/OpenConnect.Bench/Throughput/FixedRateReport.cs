using System.Globalization;

namespace OpenConnect.Bench.Throughput;

/// <summary>
/// One fixed-rate run, from h2load's <c>--log-file</c>: one line per request with its start (µs since the
/// epoch), its status (-1 for a failed stream) and its duration in µs. Percentiles are over the requests
/// that completed with a 2xx status; every other line counts as an error.
/// </summary>
public sealed record FixedRateReport(double OfferedPerSecond, double Seconds, long Completed, long Errors, double P50Ms, double P99Ms)
{
    /// <summary>Connections h2load sends the fixed rate on; the rest of a larger connection count is held open idle.</summary>
    public const int ActiveConnections = 32;

    /// <summary>Completed requests per second over the run.</summary>
    public double AchievedPerSecond => Seconds > 0 ? Completed / Seconds : double.NaN;

    public static FixedRateReport Parse(string log, double offeredPerSecond, double seconds)
    {
        var durations = new List<double>();
        long errors = 0;
        var number = 0;
        foreach (var raw in log.Split('\n'))
        {
            number++;
            var line = raw.TrimEnd('\r');
            if (line.Length == 0)
            {
                continue;
            }

            var fields = line.Split('\t');
            if (fields.Length < 3
                || !long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out _)
                || !int.TryParse(fields[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var status)
                || !long.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var micros))
            {
                throw new FormatException($"h2load log line {number} is not 'start<TAB>status<TAB>microseconds': '{line}'");
            }

            if (status is >= 200 and < 300)
            {
                durations.Add(micros / 1000.0);
            }
            else
            {
                errors++;
            }
        }

        durations.Sort();
        return new FixedRateReport(offeredPerSecond, seconds, durations.Count, errors, Percentile(durations, 50), Percentile(durations, 99));
    }

    /// <summary>Nearest-rank percentile of ascending <paramref name="sorted"/> values (NaN when empty).</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double percent)
    {
        if (sorted.Count == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(percent / 100 * sorted.Count);
        return sorted[Math.Clamp(rank, 1, sorted.Count) - 1];
    }

    /// <summary>
    /// h2load's <c>--rps</c> is per connection: the per-connection rate that offers <paramref name="percent"/> %
    /// of <paramref name="saturatedPerSecond"/> over <paramref name="connections"/> sending connections.
    /// </summary>
    public static double PerConnectionRate(double saturatedPerSecond, int percent, int connections)
    {
        if (!(saturatedPerSecond > 0) || percent <= 0 || connections <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(saturatedPerSecond), $"no fixed rate from {saturatedPerSecond} req/s, {percent} %, {connections} connections");
        }

        return saturatedPerSecond * percent / 100.0 / connections;
    }
}
