using OpenConnect.FillController.History;

namespace OpenConnect.FillController.Forecast;

/// <summary>
/// How a site's plays of a title split over the title's renditions, learned from the requests the
/// site's appliances counted per (title, rendition) (<see cref="RenditionCount"/>), in place of the
/// configured <see cref="ForecastOptions.RenditionShares"/>. Pure: built from counts, asked per title.
/// </summary>
/// <remarks>
/// <para><b>Site mix per ladder.</b> A player settles on one rung of the ladder the title has, so the
/// mix is learned per ladder (the set of video renditions a title has): the site's requests of every
/// title with that ladder, each day weighted by <see cref="ForecastOptions.HalfLifeDays"/> like the
/// title forecast, blended with the configured shares over that ladder worth
/// <see cref="ForecastOptions.RenditionMixPriorPlays"/> plays. Pooling by ladder keeps the
/// high rungs (which only some titles have) from being diluted by titles that lack them.</para>
/// <para><b>Title mix.</b> A title's own requests, weighted the same way, are blended with its site
/// mix worth <see cref="ForecastOptions.TitleRenditionPriorPlays"/> plays: a title watched
/// mostly on phones here pins its low rungs once it has been watched enough to show it.</para>
/// <para><b>Units.</b> Appliances count requests (segments), steering counts plays; the priors are
/// in plays and turned into requests with the site's own requests per play over the same days, so
/// they mean the same whatever the segment length.</para>
/// <para>Audio renditions (<c>audio*</c>) are read by every play (share 1) and are not learned.</para>
/// </remarks>
public sealed class RenditionMix
{
    private readonly Dictionary<string, Dictionary<string, double>> _byTitle;
    private readonly Dictionary<string, Dictionary<string, double>> _byLadder = new(StringComparer.Ordinal);
    private readonly IReadOnlyDictionary<string, double> _configured;
    private readonly double _ladderPrior;
    private readonly double _titlePrior;

    private RenditionMix(Dictionary<string, Dictionary<string, double>> byTitle, IReadOnlyDictionary<string, double> configured, double ladderPrior, double titlePrior)
    {
        _byTitle = byTitle;
        _configured = configured;
        _ladderPrior = ladderPrior;
        _titlePrior = titlePrior;
    }

    /// <summary>Requests the site's appliances counted per play steering counted (1 when either is unknown).</summary>
    public double RequestsPerPlay { get; private init; } = 1;

    /// <summary>A mix with no counts: every title splits by the configured shares.</summary>
    public static RenditionMix Configured(ForecastOptions options) =>
        new(new Dictionary<string, Dictionary<string, double>>(StringComparer.Ordinal), options.RenditionShares, 0, 0);

    /// <summary>
    /// Learns <paramref name="site"/>'s mix for <paramref name="day"/> from the counts of the
    /// <see cref="ForecastOptions.HistoryDays"/> days before it; other sites' counts are ignored.
    /// </summary>
    /// <param name="site">The site forecast.</param>
    /// <param name="day">The day forecast; counts of that day and later are ignored.</param>
    /// <param name="counts">Requests per (site, title, rendition, day), summed over a site's appliances or not.</param>
    /// <param name="plays">Steering's plays per (site, title, day): the unit the priors are given in.</param>
    /// <param name="ladders">The renditions of each title the forecast places (titles without one are not learned from).</param>
    /// <param name="options">Smoothing, priors and the configured shares.</param>
    public static RenditionMix Learn(string site, DateOnly day, IEnumerable<RenditionCount> counts, IEnumerable<PlayCount> plays, IReadOnlyDictionary<string, IReadOnlyCollection<string>> ladders, ForecastOptions options)
    {
        var window = day.AddDays(-options.HistoryDays);
        double requests = 0, played = 0;
        foreach (var play in plays)
        {
            if (play.Day >= window && play.Day < day && string.Equals(play.Site, site, StringComparison.Ordinal))
            {
                played += play.Plays * Weight(day, play.Day, options);
            }
        }

        var byTitle = new Dictionary<string, Dictionary<string, double>>(StringComparer.Ordinal);
        foreach (var count in counts)
        {
            if (count.Day < window || count.Day >= day || count.Requests <= 0 || DemandModel.IsAudio(count.Rendition)
                || !string.Equals(count.Site, site, StringComparison.Ordinal) || !ladders.TryGetValue(count.Title, out var ladder) || !ladder.Contains(count.Rendition))
            {
                continue;
            }

            if (!byTitle.TryGetValue(count.Title, out var renditions))
            {
                renditions = new Dictionary<string, double>(StringComparer.Ordinal);
                byTitle[count.Title] = renditions;
            }

            var weighted = count.Requests * Weight(day, count.Day, options);
            renditions[count.Rendition] = renditions.GetValueOrDefault(count.Rendition) + weighted;
            requests += weighted;
        }

        var perPlay = requests > 0 && played > 0 ? requests / played : 1;
        var mix = new RenditionMix(byTitle, options.RenditionShares, options.RenditionMixPriorPlays * perPlay, options.TitleRenditionPriorPlays * perPlay) { RequestsPerPlay = perPlay };
        foreach (var (title, renditions) in byTitle)
        {
            var key = LadderKey(ladders[title]);
            if (!mix._byLadder.TryGetValue(key, out var pooled))
            {
                pooled = new Dictionary<string, double>(StringComparer.Ordinal);
                mix._byLadder[key] = pooled;
            }

            foreach (var (rendition, weight) in renditions)
            {
                pooled[rendition] = pooled.GetValueOrDefault(rendition) + weight;
            }
        }

        return mix;
    }

    /// <summary>Share of <paramref name="title"/>'s plays that read each of <paramref name="renditions"/> (video shares sum to 1; audio 1 each).</summary>
    public IReadOnlyList<(string Rendition, double Share)> Shares(string title, IEnumerable<string> renditions)
    {
        var configured = DemandModel.RenditionShares(renditions, _configured);
        var video = configured.Where(r => !DemandModel.IsAudio(r.Rendition)).Select(r => r.Rendition).ToList();
        if (video.Count == 0)
        {
            return configured;
        }

        var ladder = _byLadder.GetValueOrDefault(LadderKey(video));
        var own = _byTitle.GetValueOrDefault(title);
        var ladderTotal = ladder is null ? 0 : video.Sum(r => ladder.GetValueOrDefault(r));
        var ownTotal = own is null ? 0 : video.Sum(r => own.GetValueOrDefault(r));
        var result = new List<(string, double)>(configured.Count);
        foreach (var (rendition, prior) in configured)
        {
            if (DemandModel.IsAudio(rendition))
            {
                result.Add((rendition, prior));
                continue;
            }

            var site = Blend(ladder?.GetValueOrDefault(rendition) ?? 0, ladderTotal, prior, _ladderPrior);
            result.Add((rendition, Blend(own?.GetValueOrDefault(rendition) ?? 0, ownTotal, site, _titlePrior)));
        }

        return result;
    }

    /// <summary><c>(count + k·prior) / (total + k)</c>; the prior alone when there is nothing to blend.</summary>
    public static double Blend(double count, double total, double prior, double k) =>
        total + k > 0 ? (count + (k * prior)) / (total + k) : prior;

    private static double Weight(DateOnly day, DateOnly counted, ForecastOptions options) =>
        Math.Pow(0.5, (day.DayNumber - counted.DayNumber - 1) / options.HalfLifeDays);

    private static string LadderKey(IEnumerable<string> renditions) =>
        string.Join(',', renditions.Where(r => !DemandModel.IsAudio(r)).Order(StringComparer.Ordinal));
}
