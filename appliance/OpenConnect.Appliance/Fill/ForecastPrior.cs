using OpenConnect.Appliance.Caching.Policy;
using OpenConnect.Contracts.Fill.V1;

namespace OpenConnect.Appliance.Fill;

/// <summary>
/// The night manifest's per-title forecast (<see cref="FillManifest.Forecast"/>) as the <c>video</c>
/// policy's <see cref="TitlePrior"/>. The controller forecasts plays, and every play requests a title's
/// first segments, so a title's plays go to position octave 0; how far sessions watch is left to the
/// policy's own position counters. Titles the forecast does not name get no prior. Entries the prior
/// cannot carry (no title, plays not a finite number above 0) are skipped; a title named twice adds up.
/// </summary>
public static class ForecastPrior
{
    /// <summary>The prior, or null when the forecast names no usable title (which removes the policy's prior).</summary>
    public static TitlePrior? From(IEnumerable<TitleForecast> forecast)
    {
        var titles = new Dictionary<ulong, double[]>();
        foreach (var entry in forecast)
        {
            if (string.IsNullOrEmpty(entry.Title) || !double.IsFinite(entry.Plays) || entry.Plays <= 0)
            {
                continue;
            }

            var hash = ContentHint.TitleHash(entry.Title);
            if (!titles.TryGetValue(hash, out var octaves))
            {
                titles[hash] = octaves = new double[VideoAwarePolicy.Octaves];
            }

            octaves[0] += entry.Plays;
        }

        return titles.Count == 0 ? null : new TitlePrior(titles);
    }
}
