using System.Globalization;
using OpenConnect.Bench.Charts;

namespace OpenConnect.Bench.CacheSim;

/// <summary>Byte miss ratio against cache size for every replayed policy of one trace, Belady and the compulsory floor dashed.</summary>
internal static class MissRatioChart
{
    public static LineChart Of(Trace trace, IReadOnlyList<SimResult> results)
    {
        var series = new List<ChartSeries>();
        var sizes = results.Select(r => r.SizeFraction * 100).Distinct().Order().ToArray();
        foreach (var policy in results.Select(r => r.Policy).Distinct())
        {
            var points = results.Where(r => r.Policy == policy).OrderBy(r => r.SizeFraction).ToArray();
            series.Add(new ChartSeries(policy, [.. points.Select(r => r.SizeFraction * 100)], [.. points.Select(r => r.ByteMissRatio)])
            {
                Dashed = policy == Simulator.Belady,
            });
        }

        var compulsory = (double)trace.UniqueBytes / trace.TotalBytes;
        series.Add(new ChartSeries("compulsory (every object once)", sizes, [.. sizes.Select(_ => compulsory)]) { Dashed = true });
        return new LineChart(
            string.Create(CultureInfo.InvariantCulture, $"{trace.Name}: byte miss ratio vs cache size ({trace.Count:N0} requests)"),
            "cache size, % of the trace's unique bytes",
            "byte miss ratio (lower is better)",
            series);
    }

    /// <summary>A file name from the trace name: letters, digits, '.', '-' and '_' kept, the rest '_'.</summary>
    public static string FileName(string traceName)
    {
        var chars = traceName.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (!(char.IsAsciiLetterOrDigit(chars[i]) || chars[i] is '.' or '-' or '_'))
            {
                chars[i] = '_';
            }
        }

        return "cache-sim-" + new string(chars) + ".png";
    }
}
