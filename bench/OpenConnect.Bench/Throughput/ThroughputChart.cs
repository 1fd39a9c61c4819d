using OpenConnect.Bench.Charts;

namespace OpenConnect.Bench.Throughput;

/// <summary>One figure of the throughput chart: a line per (case, server) against the connection count on a log scale.</summary>
public static class ThroughputChart
{
    public const string XLabel = "connections (log10: 1.5 = 32, 3 = 1,000, 4 = 10,000)";

    /// <summary>Points with a value that is not finite (not measured) are left out; a line with no point at all is dropped.</summary>
    public static LineChart Build(string title, string yLabel, IEnumerable<CellSummary> cells, Func<CellSummary, double> value)
    {
        var series = cells
            .GroupBy(c => (c.Case, c.Server))
            .Select(g =>
            {
                var points = g.OrderBy(c => c.Connections).Select(c => (X: Math.Log10(c.Connections), Y: value(c))).Where(p => double.IsFinite(p.Y)).ToList();
                return new ChartSeries($"{ThroughputSettings.Label(g.Key.Case)} {g.Key.Server}", points.Select(p => p.X).ToList(), points.Select(p => p.Y).ToList())
                {
                    // nginx is the reference: dashed.
                    Dashed = g.Key.Server == "nginx",
                };
            })
            .Where(s => s.X.Count > 0)
            .ToList();
        return new LineChart(title, XLabel, yLabel, series) { YMin = 0 };
    }
}
