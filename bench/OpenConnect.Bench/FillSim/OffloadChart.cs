using System.Globalization;
using OpenConnect.Bench.Charts;

namespace OpenConnect.Bench.FillSim;

/// <summary>Offload per scored day at one cache size: pull, push fill, known rates and the oracle (dashed, a bound).</summary>
internal static class OffloadChart
{
    public static LineChart Of(IReadOnlyList<StrategyResult> results, FillSimOptions options, double size)
    {
        var series = new List<ChartSeries>();
        foreach (var result in results.Where(r => r.SizeFraction == size).OrderBy(r => r.Strategy))
        {
            series.Add(new ChartSeries(
                $"{Name(result.Strategy)} ({result.Offload:F4})",
                [.. result.DailyOffload.Select(d => (double)d.Day)],
                [.. result.DailyOffload.Select(d => d.Offload)])
            {
                Dashed = result.Strategy is Strategy.Oracle or Strategy.KnownRates,
            });
        }

        var low = results.Where(r => r.SizeFraction == size).SelectMany(r => r.DailyOffload).Select(d => d.Offload).DefaultIfEmpty(0).Min();
        return new LineChart(
            string.Create(CultureInfo.InvariantCulture, $"fill-sim: offload per day, cache {size:P0} of the catalog, {options.Plays:N0} plays/day, seed {options.Seed}"),
            "day (scored days only: the warm-up days are not drawn)",
            "offload: bytes served by appliances / bytes requested",
            series)
        {
            YMin = Math.Floor(low * 100) / 100,
            YMax = 1.005,
        };
    }

    public static string FileName(FillSimOptions options, double size) =>
        string.Create(CultureInfo.InvariantCulture, $"fill-sim-{options.Plays}-seed{options.Seed}-{Math.Round(size * 100, 2)}pct.png");

    private static string Name(Strategy strategy) => strategy switch
    {
        Strategy.Pull => "pull",
        Strategy.PushFill => "push fill",
        Strategy.KnownRates => "known rates (bound of any forecast)",
        Strategy.Oracle => "oracle (the day's realized reads)",
        _ => throw new ArgumentOutOfRangeException(nameof(strategy), strategy, null),
    };
}
