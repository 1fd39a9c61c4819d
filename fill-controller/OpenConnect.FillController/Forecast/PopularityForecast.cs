using Microsoft.Extensions.Options;
using OpenConnect.FillController.History;
using OpenConnect.FillController.Placement;

namespace OpenConnect.FillController.Forecast;

/// <summary>
/// <see cref="IPopularityForecast"/> over the popularity store: title demand from
/// <see cref="DemandModel"/>, split over each title's renditions by the site's
/// <see cref="RenditionMix"/> (learned from the requests its appliances report; the configured
/// shares until they have reported), sized from the origin's integrity manifests. Titles the origin has no manifest for are left
/// out (nothing to fill).
/// </summary>
public sealed partial class PopularityForecast(PopularityStore store, RenditionSizes sizes, IOptions<FillControllerOptions> options, ILogger<PopularityForecast> logger) : IPopularityForecast
{
    private const int ManifestReads = 8;

    public async ValueTask<IReadOnlyList<FileForecast>> ForecastAsync(string site, DateOnly day, CancellationToken cancellationToken)
    {
        var forecast = options.Value.Forecast;
        var from = day.AddDays(-forecast.HistoryDays - 1);
        var to = day.AddDays(-1);
        var plays = store.Plays(from, to);
        var demand = DemandModel.TitleDemand(site, day, plays, store.DailyViews(from, to), store.Titles(), forecast);

        var titles = demand.Keys.Order(StringComparer.Ordinal).ToArray();
        var sized = new IReadOnlyDictionary<string, long>?[titles.Length];
        await Parallel.ForEachAsync(Enumerable.Range(0, titles.Length), new ParallelOptions { MaxDegreeOfParallelism = ManifestReads, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            try
            {
                sized[i] = await sizes.GetAsync(titles[i], ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or InvalidDataException or System.Text.Json.JsonException || (e is TaskCanceledException && !ct.IsCancellationRequested))
            {
                ManifestUnavailable(logger, titles[i], e.Message);
            }
        }).ConfigureAwait(false);

        var ladders = new Dictionary<string, IReadOnlyCollection<string>>(StringComparer.Ordinal);
        for (var i = 0; i < titles.Length; i++)
        {
            if (sized[i] is { } known)
            {
                ladders[titles[i]] = known.Keys.ToArray();
            }
        }

        var mix = RenditionMix.Learn(site, day, store.RenditionRequests(from, to), plays, ladders, forecast);
        var files = new List<FileForecast>(titles.Length * 6);
        for (var i = 0; i < titles.Length; i++)
        {
            if (sized[i] is not { } renditions)
            {
                continue;
            }

            foreach (var (rendition, share) in mix.Shares(titles[i], renditions.Keys))
            {
                files.Add(new FileForecast(new FileId(titles[i], rendition), renditions[rendition], demand[titles[i]] * share));
            }
        }

        return files;
    }

    [LoggerMessage(EventId = 6101, Level = LogLevel.Warning, Message = "Integrity manifest of {Title} unavailable, left out of the forecast: {Reason}")]
    private static partial void ManifestUnavailable(ILogger logger, string title, string reason);
}
