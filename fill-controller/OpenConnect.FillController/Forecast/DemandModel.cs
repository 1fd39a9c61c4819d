using OpenConnect.FillController.History;

namespace OpenConnect.FillController.Forecast;

/// <summary>
/// Next-day plays per title for a site, from daily history: pure functions, so smoothing, the
/// region blend and the new-title prior are tested with tables.
/// </summary>
/// <remarks>
/// <para><b>Smoothing.</b> A title's daily plays over the last <see cref="ForecastOptions.HistoryDays"/>
/// days (only days since it was published) are averaged with weights halving every
/// <see cref="ForecastOptions.HalfLifeDays"/> days back, so a title fading or rising is followed
/// within a couple of days while one odd day is damped.</para>
/// <para><b>Region blend.</b> Region demand per title is the larger of the sum over sites and the
/// origin's daily views (players that bypass steering still count). A site's share of a title is
/// <c>(n_site + K·share_region) / (N_site + K)</c> with <c>K = RegionPriorPlays</c>: a small site
/// follows the region, a busy one its own plays. The result is scaled to the site's own daily plays
/// (a site with no history gets the region's plays divided by the number of sites seen).</para>
/// <para><b>New titles.</b> A title published within <see cref="ForecastOptions.NewTitleDays"/> days
/// is blended with a prior worth <see cref="ForecastOptions.NewTitlePriorDays"/> days of history:
/// the forecast of the site's title at rank <see cref="ForecastOptions.NewTitlePriorRank"/> (at least
/// <see cref="ForecastOptions.NewTitlePriorMinPlays"/>). A title
/// published on the forecast day itself has no history and gets the prior alone.</para>
/// </remarks>
public static class DemandModel
{
    /// <summary>Exponentially weighted daily mean of <paramref name="daily"/> over [<paramref name="first"/>, <paramref name="day"/> − 1], and the total weight of those days.</summary>
    public static (double Mean, double Weight) Smooth(IReadOnlyDictionary<DateOnly, double> daily, DateOnly first, DateOnly day, ForecastOptions options)
    {
        var start = day.AddDays(-options.HistoryDays);
        if (first > start)
        {
            start = first;
        }

        double sum = 0, weight = 0;
        for (var d = start; d < day; d = d.AddDays(1))
        {
            var age = day.DayNumber - d.DayNumber - 1;
            var w = Math.Pow(0.5, age / options.HalfLifeDays);
            weight += w;
            sum += w * (daily.TryGetValue(d, out var x) ? x : 0);
        }

        return weight == 0 ? (0, 0) : (sum / weight, weight);
    }

    /// <summary>Expected plays per title in <paramref name="site"/> on <paramref name="day"/>.</summary>
    /// <param name="site">The site forecast.</param>
    /// <param name="day">The day forecast; history is read up to the day before.</param>
    /// <param name="plays">Play counts per (site, title, day), from steering.</param>
    /// <param name="views">Views per (title, day), from the origin's counters.</param>
    /// <param name="published">Publication times of the titles the origin lists.</param>
    /// <param name="options">Smoothing, blend and prior settings.</param>
    public static Dictionary<string, double> TitleDemand(
        string site,
        DateOnly day,
        IEnumerable<PlayCount> plays,
        IEnumerable<(string Title, DateOnly Day, long Views)> views,
        IReadOnlyDictionary<string, DateTimeOffset?> published,
        ForecastOptions options)
    {
        var window = day.AddDays(-options.HistoryDays);
        var siteDaily = new Dictionary<string, Dictionary<DateOnly, double>>(StringComparer.Ordinal);
        var regionDaily = new Dictionary<string, Dictionary<DateOnly, double>>(StringComparer.Ordinal);
        var viewDaily = new Dictionary<string, Dictionary<DateOnly, double>>(StringComparer.Ordinal);
        var sites = new HashSet<string>(StringComparer.Ordinal);
        foreach (var play in plays)
        {
            if (play.Day < window || play.Day >= day)
            {
                continue;
            }

            sites.Add(play.Site);
            Add(regionDaily, play.Title, play.Day, play.Plays);
            if (string.Equals(play.Site, site, StringComparison.Ordinal))
            {
                Add(siteDaily, play.Title, play.Day, play.Plays);
            }
        }

        foreach (var (title, d, count) in views)
        {
            if (d >= window && d < day)
            {
                Add(viewDaily, title, d, count);
            }
        }

        var titles = new SortedSet<string>(regionDaily.Keys, StringComparer.Ordinal);
        titles.UnionWith(viewDaily.Keys);
        var siteMean = new Dictionary<string, double>(StringComparer.Ordinal);
        var regionMean = new Dictionary<string, double>(StringComparer.Ordinal);
        var weights = new Dictionary<string, double>(StringComparer.Ordinal);
        double siteTotal = 0, regionTotal = 0;
        foreach (var title in titles)
        {
            var first = FirstDay(published, title, window);
            var (own, weight) = siteDaily.TryGetValue(title, out var s) ? Smooth(s, first, day, options) : (0, 0);
            var (region, regionWeight) = regionDaily.TryGetValue(title, out var r) ? Smooth(r, first, day, options) : (0, 0);
            var (viewed, viewWeight) = viewDaily.TryGetValue(title, out var v) ? Smooth(v, first, day, options) : (0, 0);
            siteMean[title] = own;
            regionMean[title] = Math.Max(region, viewed);
            weights[title] = Math.Max(weight, Math.Max(regionWeight, viewWeight));
            siteTotal += own;
            regionTotal += regionMean[title];
        }

        var volume = siteTotal > 0 ? siteTotal : regionTotal / Math.Max(1, sites.Count);
        var demand = new Dictionary<string, double>(StringComparer.Ordinal);
        var k = options.RegionPriorPlays;
        foreach (var title in titles)
        {
            var regionShare = regionTotal > 0 ? regionMean[title] / regionTotal : 0;
            var share = siteTotal + k > 0 ? (siteMean[title] + (k * regionShare)) / (siteTotal + k) : regionShare;
            if (share > 0)
            {
                demand[title] = volume * share;
            }
        }

        ApplyNewTitlePrior(demand, weights, day, published, options);
        return demand;
    }

    /// <summary>The prior a new title gets: the forecast at rank <see cref="ForecastOptions.NewTitlePriorRank"/> (0 when the site has fewer titles).</summary>
    public static double NewTitlePrior(IEnumerable<double> demand, int rank)
    {
        var top = demand.OrderByDescending(x => x).Take(rank).ToList();
        return top.Count == 0 ? 0 : top[^1];
    }

    /// <summary>Splits a title's plays over its renditions (see <see cref="ForecastOptions.RenditionShares"/>).</summary>
    public static IReadOnlyList<(string Rendition, double Share)> RenditionShares(IEnumerable<string> renditions, IReadOnlyDictionary<string, double> shares)
    {
        var names = renditions.Order(StringComparer.Ordinal).ToList();
        var byHeight = names.Where(n => !IsAudio(n)).GroupBy(Height, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var raw = new List<(string, double)>(names.Count);
        var videoTotal = 0.0;
        foreach (var name in names)
        {
            if (IsAudio(name))
            {
                continue;
            }

            // A plain height (720p) shares its weight with the codec variants of that height
            // (720p-hevc) unless a variant is named explicitly.
            var weight = name != Height(name) && shares.TryGetValue(name, out var exact) ? exact
                : shares.TryGetValue(Height(name), out var height) ? height / byHeight[Height(name)]
                : 0;
            raw.Add((name, weight));
            videoTotal += weight;
        }

        var result = new List<(string, double)>(names.Count);
        foreach (var (name, weight) in raw)
        {
            // Renditions the shares do not name split the plays evenly when none is named.
            result.Add((name, videoTotal > 0 ? weight / videoTotal : 1.0 / raw.Count));
        }

        foreach (var name in names.Where(IsAudio))
        {
            result.Add((name, 1.0));
        }

        return result;
    }

    public static bool IsAudio(string rendition) => rendition.StartsWith("audio", StringComparison.Ordinal);

    private static string Height(string rendition)
    {
        var dash = rendition.IndexOf('-', StringComparison.Ordinal);
        return dash < 0 ? rendition : rendition[..dash];
    }

    private static void ApplyNewTitlePrior(Dictionary<string, double> demand, Dictionary<string, double> weights, DateOnly day, IReadOnlyDictionary<string, DateTimeOffset?> published, ForecastOptions options)
    {
        var prior = Math.Max(NewTitlePrior(demand.Values, options.NewTitlePriorRank), options.NewTitlePriorMinPlays);
        if (prior <= 0 || options.NewTitlePriorDays <= 0)
        {
            return;
        }

        foreach (var (title, at) in published.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (at is not { } when || DateOnly.FromDateTime(when.UtcDateTime) < day.AddDays(-options.NewTitleDays) || DateOnly.FromDateTime(when.UtcDateTime) > day)
            {
                continue;
            }

            var observed = demand.GetValueOrDefault(title);
            var weight = weights.GetValueOrDefault(title);
            demand[title] = ((observed * weight) + (prior * options.NewTitlePriorDays)) / (weight + options.NewTitlePriorDays);
        }
    }

    private static DateOnly FirstDay(IReadOnlyDictionary<string, DateTimeOffset?> published, string title, DateOnly window)
    {
        if (published.TryGetValue(title, out var at) && at is { } when)
        {
            var first = DateOnly.FromDateTime(when.UtcDateTime);
            return first > window ? first : window;
        }

        return window;
    }

    private static void Add(Dictionary<string, Dictionary<DateOnly, double>> daily, string title, DateOnly day, double count)
    {
        if (!daily.TryGetValue(title, out var days))
        {
            days = [];
            daily[title] = days;
        }

        days[day] = days.GetValueOrDefault(day) + count;
    }
}
