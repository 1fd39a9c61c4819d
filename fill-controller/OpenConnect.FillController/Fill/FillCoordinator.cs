using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Fill;
using OpenConnect.Contracts.Fill.V1;
using OpenConnect.FillController.Discovery;
using OpenConnect.FillController.Placement;
using Prometheus;

namespace OpenConnect.FillController.Fill;

/// <summary>What opening a site's fill produced.</summary>
public sealed record SiteFillResult(string Site, DateOnly Day, DateTimeOffset OpenUntil, IReadOnlyDictionary<string, ulong> Manifests, int FilesPlaced);

/// <summary>
/// Opens a site's fill: roster (steering) → forecast → placement (against the site's previous
/// placement) → one manifest per appliance of the site, each file with its ranked sources; and
/// answers what appliances ask: their manifest, whether their window is open, and the site status.
/// </summary>
public sealed class FillCoordinator
{
    private readonly FillStore _store;
    private readonly RosterClient _roster;
    private readonly IPopularityForecast _forecast;
    private readonly IPlacementPlanner _planner;
    private readonly ServiceDirectory _services;
    private readonly FillOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<FillCoordinator> _logger;
    private readonly SemaphoreSlim _opening = new(1, 1);
    private readonly Gauge _titles;
    private readonly Gauge _files;
    private readonly Counter _manifests;
    private readonly ConcurrentDictionary<string, byte> _changedSites = new(StringComparer.Ordinal);

    public FillCoordinator(FillStore store, RosterClient roster, IPopularityForecast forecast, IPlacementPlanner planner, ServiceDirectory services,
        IOptions<FillControllerOptions> options, TimeProvider time, ILogger<FillCoordinator> logger, IMetricFactory metrics, CollectorRegistry registry)
    {
        _store = store;
        _roster = roster;
        _forecast = forecast;
        _planner = planner;
        _services = services;
        _options = options.Value.Fill;
        _time = time;
        _logger = logger;
        _titles = metrics.CreateGauge("openconnect_fill_titles", "Titles of a site's current placement by state: live (every planned copy complete) or filling.", ["site", "state"]);
        _files = metrics.CreateGauge("openconnect_fill_files", "Planned (appliance, file) copies of a site's current manifests by reported state: done, failed or pending.", ["site", "state"]);
        _manifests = metrics.CreateCounter("openconnect_fill_manifests_total", "Manifests issued to appliances.", ["site"]);
        // The gauges read every current manifest of a site: computed when scraped, for the sites whose
        // files changed since the last scrape, not once per progress report.
        registry.AddBeforeCollectCallback(() =>
        {
            foreach (var site in _changedSites.Keys)
            {
                _changedSites.TryRemove(site, out _);
                RefreshStatusMetrics(site);
            }
        });
    }

    /// <summary>The window of <paramref name="site"/> from configuration.</summary>
    public FillWindow WindowOf(string site) => _options.WindowFor(site).ToWindow();

    /// <summary>Sites with a configured window (others are learned from the roster).</summary>
    public IEnumerable<string> ConfiguredSites => _options.Sites.Keys;

    public Task<IReadOnlyList<RosterEntry>> RosterAsync(CancellationToken cancellationToken) => _roster.ListAsync(cancellationToken);

    /// <summary>
    /// Plans the site for <paramref name="day"/> and issues the manifests; appliances may fetch until
    /// <paramref name="openUntil"/>. <paramref name="scheduled"/> is false for an operator's "fill now".
    /// </summary>
    public async Task<SiteFillResult> OpenSiteAsync(string site, DateOnly day, DateTimeOffset openUntil, bool scheduled, CancellationToken cancellationToken)
    {
        await _opening.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var roster = await _roster.ListAsync(cancellationToken).ConfigureAwait(false);
            var byId = roster.ToDictionary(a => a.ApplianceId, StringComparer.Ordinal);
            // Liveness against the freshest heartbeat steering saw, so the two roles' clocks need not agree.
            var freshest = roster.Count == 0 ? DateTimeOffset.MinValue : roster.Max(a => a.LastHeartbeat);
            var inSite = roster.Where(a => a.Site == site && freshest - a.LastHeartbeat <= _options.RosterMaxSilence).OrderBy(a => a.ApplianceId, StringComparer.Ordinal).ToList();
            var appliances = inSite.Select(a => new PlacementAppliance(a.ApplianceId, (long)(a.SsdBytes * _options.SsdShare))).ToList();
            // Resolved before planning: an open that cannot issue manifests must not leave a saved
            // placement behind, which the retry would take for yesterday's (held files, no fetch cost).
            var origin = OriginUrl();

            var forecast = await _forecast.ForecastAsync(site, day, cancellationToken).ConfigureAwait(false);
            var placement = _planner.Plan(site, day, appliances, forecast, _store.LoadPlacement(site));

            var sizes = new Dictionary<FileId, long>();
            foreach (var file in forecast)
            {
                sizes[file.File] = file.Bytes;
            }

            var holders = _store.CurrentFiles(site: null)
                .Where(f => f.State == FillStore.Done)
                .ToLookup(f => f.File, f => f.ApplianceId);
            var manifests = new Dictionary<string, ulong>(StringComparer.Ordinal);
            var placed = 0;
            foreach (var appliance in inSite)
            {
                var files = placement.ByAppliance.TryGetValue(appliance.ApplianceId, out var list) ? list : [];
                placed += files.Count;
                manifests[appliance.ApplianceId] = _store.AddManifest(appliance.ApplianceId, site, day, files, version =>
                {
                    var manifest = new FillManifest { Version = version, ApplianceId = appliance.ApplianceId, Site = site, Day = day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) };
                    foreach (var file in files)
                    {
                        var entry = new FillFile { Title = file.Title, Rendition = file.Rendition, Bytes = sizes.GetValueOrDefault(file) };
                        entry.Sources.AddRange(SourceRanking.Rank(file, appliance.ApplianceId, site, holders[file], byId, origin));
                        manifest.Files.Add(entry);
                    }

                    return ManifestCodec.Encode(manifest);
                });
                _manifests.WithLabels(site).Inc();
            }

            // The placement becomes "yesterday's" for the next plan only once its manifests are issued.
            _store.SavePlacement(placement);
            _store.AddRun(new FillRun(site, day, _time.GetUtcNow(), openUntil, scheduled));
            FillLog.SiteOpened(_logger, site, day, inSite.Count, placed, openUntil);
            StatusChanged(site);
            return new SiteFillResult(site, day, openUntil, manifests, placed);
        }
        finally
        {
            _opening.Release();
        }
    }

    /// <summary>Whether appliances of <paramref name="site"/> may fetch now, and until when (or when the next window ends).</summary>
    public (bool Open, DateTimeOffset Until) WindowState(string site)
    {
        var now = _time.GetUtcNow();
        if (_store.LatestRun(site, now) is { } run && now < run.OpenUntil)
        {
            return (true, run.OpenUntil);
        }

        return (false, WindowOf(site).Next(now).End);
    }

    /// <summary>Titles of the site's current manifests: live once every planned copy is complete.</summary>
    public SiteStatus Status(string site)
    {
        var status = SiteStatus.From(site, _store.LatestRun(site, _time.GetUtcNow()), _store.CurrentFiles(site));
        return status;
    }

    /// <summary>Marks the site's gauges stale (after a fill opens and after each progress report); the next scrape refreshes them.</summary>
    public void StatusChanged(string site) => _changedSites[site] = 0;

    private void RefreshStatusMetrics(string site)
    {
        var status = Status(site);
        _titles.WithLabels(site, "live").Set(status.Titles.Count(t => t.Live));
        _titles.WithLabels(site, "filling").Set(status.Titles.Count(t => !t.Live));
        _files.WithLabels(site, "done").Set(status.Titles.Sum(t => t.CopiesComplete));
        _files.WithLabels(site, "failed").Set(status.Titles.Sum(t => t.CopiesFailed));
        _files.WithLabels(site, "pending").Set(status.Titles.Sum(t => t.CopiesPlanned - t.CopiesComplete - t.CopiesFailed));
    }

    private string OriginUrl()
    {
        if (_options.OriginUrl.Length > 0)
        {
            return _options.OriginUrl;
        }

        return _services.Origin?.ToString() ?? throw new InvalidOperationException("the origin's URL is not known yet (FillController:Origin)");
    }
}
