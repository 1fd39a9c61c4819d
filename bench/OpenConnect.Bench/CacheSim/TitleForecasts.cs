using OpenConnect.Appliance.Caching.Policy;

namespace OpenConnect.Bench.CacheSim;

/// <summary>
/// Per-day <see cref="TitlePrior"/>s for a trace with hints, delivered to the policy at each day boundary as
/// the night manifest would deliver the fill controller's forecast.
/// </summary>
internal static class TitleForecasts
{
    public const double SecondsPerDay = 86_400;

    /// <summary>
    /// What the fill controller can know: day d's forecast is made only from days before d. Per title and
    /// octave, an exponentially weighted mean of past days' requests (<paramref name="smoothing"/> on the latest
    /// day); titles it has never seen get the mean first-day profile of the titles first requested the day
    /// before (how releases did). Day 0 has no forecast.
    /// </summary>
    public static TitlePrior?[] FromHistory(Trace trace, double smoothing = 0.5)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(smoothing);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(smoothing, 1);
        var days = DailyCounts(trace, out var firstDay);
        var priors = new TitlePrior?[days.Length];
        var smoothed = new Dictionary<ulong, double[]>();
        for (var d = 1; d < days.Length; d++)
        {
            var yesterday = days[d - 1];
            foreach (var (title, row) in smoothed)
            {
                var seen = yesterday.TryGetValue(title, out var c) ? c : null;
                for (var o = 0; o < row.Length; o++)
                {
                    row[o] = ((1 - smoothing) * row[o]) + (smoothing * (seen?[o] ?? 0));
                }
            }

            var released = new double[VideoAwarePolicy.Octaves];
            var releases = 0;
            foreach (var (title, counts) in yesterday)
            {
                if (!smoothed.ContainsKey(title))
                {
                    // First seen yesterday: as if its earlier days were like yesterday (no older evidence).
                    smoothed.Add(title, (double[])counts.Clone());
                }

                if (firstDay[title] == d - 1)
                {
                    releases++;
                    for (var o = 0; o < counts.Length; o++)
                    {
                        released[o] += counts[o];
                    }
                }
            }

            if (releases > 0)
            {
                for (var o = 0; o < released.Length; o++)
                {
                    released[o] /= releases;
                }
            }

            priors[d] = new TitlePrior(Copy(smoothed), releases > 0 ? released : null);
        }

        return priors;
    }

    /// <summary>
    /// Not a forecast: each day's prior is that same day's true requests per title and octave (the future).
    /// It bounds what any title-rate estimate can give the policy; a policy must never be tuned on it.
    /// </summary>
    public static TitlePrior?[] ExactRates(Trace trace)
    {
        var days = DailyCounts(trace, out _);
        var priors = new TitlePrior?[days.Length];
        for (var d = 0; d < days.Length; d++)
        {
            priors[d] = new TitlePrior(days[d]);
        }

        return priors;
    }

    public static int DayOf(uint time) => (int)(time / SecondsPerDay);

    /// <summary>Requests per title and octave for each day of the trace, and the day each title was first requested.</summary>
    private static Dictionary<ulong, double[]>[] DailyCounts(Trace trace, out Dictionary<ulong, int> firstDay)
    {
        var hints = trace.Hints ?? throw new ArgumentException($"trace {trace.Name} has no title hints to forecast from");
        firstDay = [];
        var count = 0;
        foreach (var t in trace.Times)
        {
            count = Math.Max(count, DayOf(t) + 1);
        }

        var days = new Dictionary<ulong, double[]>[count];
        for (var d = 0; d < count; d++)
        {
            days[d] = [];
        }

        for (var i = 0; i < hints.Length; i++)
        {
            var title = hints[i].Title;
            if (title == 0)
            {
                continue;
            }

            var day = DayOf(trace.Times[i]);
            if (!days[day].TryGetValue(title, out var row))
            {
                row = new double[VideoAwarePolicy.Octaves];
                days[day].Add(title, row);
            }

            row[VideoAwarePolicy.OctaveOf(hints[i].Segment)]++;
            firstDay.TryAdd(title, day);
        }

        return days;
    }

    private static Dictionary<ulong, double[]> Copy(Dictionary<ulong, double[]> rows)
    {
        var copy = new Dictionary<ulong, double[]>(rows.Count);
        foreach (var (title, row) in rows)
        {
            copy.Add(title, (double[])row.Clone());
        }

        return copy;
    }
}
