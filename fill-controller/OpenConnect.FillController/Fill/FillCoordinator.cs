using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Fill;
using OpenConnect.Contracts.Fill.V1;
using OpenConnect.Contracts.Placement;
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
    private readonly Gauge _windowOpened;
    private readonly Gauge _windowOpenUntil;
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
        _files = metrics.CreateGauge("openconnect_fill_files", "Planned (appliance, file) copies of a site's current manifests by reported state: done, failed or pending (held: pending copies held back until a first copy in the site completes).", ["site", "state"]);
        _manifests = metrics.CreateCounter("openconnect_fill_manifests_total", "Manifests issued to appliances.", ["site"]);
        // Progress against the window in PromQL: done / planned files vs (time() - opened) / (open_until - opened).
        _windowOpened = metrics.CreateGauge("openconnect_fill_window_opened_timestamp_seconds", "Unix time the site's current fill run opened (its window's start, or an operator's fill now).", ["site"]);
        _windowOpenUntil = metrics.CreateGauge("openconnect_fill_window_open_until_timestamp_seconds", "Unix time until which appliances of the site may fetch for the current fill run.", ["site"]);
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
            var heldUntil = _time.GetUtcNow() + ((openUntil - _time.GetUtcNow()) * _options.HoldShare);
            var first = FirstCopies(site, inSite.Select(a => a.ApplianceId), placement, holders, byId);
            var titleForecast = ManifestForecast.Of(forecast);
            var manifests = new Dictionary<string, ulong>(StringComparer.Ordinal);
            var placed = 0;
            foreach (var appliance in inSite)
            {
                var files = placement.ByAppliance.TryGetValue(appliance.ApplianceId, out var list) ? list : [];
                placed += files.Count;
                var entries = files.Select(f => new ManifestEntry(f, sizes.GetValueOrDefault(f), first.TryGetValue(f, out var goesFirst) && goesFirst != appliance.ApplianceId ? heldUntil : null)).ToList();
                manifests[appliance.ApplianceId] = _store.AddManifest(appliance.ApplianceId, site, day, entries, version =>
                {
                    var manifest = new FillManifest { Version = version, ApplianceId = appliance.ApplianceId, Site = site, Day = day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) };
                    foreach (var entry in entries.Where(e => e.HeldUntil is null))
                    {
                        var file = new FillFile { Title = entry.File.Title, Rendition = entry.File.Rendition, Bytes = entry.Bytes };
                        file.Sources.AddRange(SourceRanking.Rank(entry.File, appliance.ApplianceId, site, holders[entry.File], byId, origin));
                        manifest.Files.Add(file);
                    }

                    manifest.Forecast.AddRange(titleForecast);
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

    /// <summary>
    /// The appliance whose copy of a file goes out first, for each file of the site planned on more
    /// than one appliance while no appliance of the site holds it: the title's rendezvous choice among
    /// them (spreading the origin pulls over the site). The other copies are held back until that
    /// one completes, then pulled from it. Files not listed here go out to every appliance at once.
    /// </summary>
    public static Dictionary<FileId, string> FirstCopies(string site, IEnumerable<string> appliances, SitePlacement placement, ILookup<FileId, string> holders, IReadOnlyDictionary<string, RosterEntry> roster)
    {
        var first = new Dictionary<FileId, string>();
        var planned = appliances
            .SelectMany(id => placement.ByAppliance.TryGetValue(id, out var files) ? files.Select(f => (File: f, Id: id)) : [])
            .GroupBy(p => p.File, p => p.Id);
        foreach (var copies in planned)
        {
            var ids = copies.Distinct(StringComparer.Ordinal).ToList();
            if (ids.Count < 2 || holders[copies.Key].Any(h => roster.TryGetValue(h, out var holder) && holder.Site == site))
            {
                continue;
            }

            var title = Rendezvous.HashTitle(copies.Key.Title);
            first[copies.Key] = ids.OrderByDescending(id => Rendezvous.Score(title, Rendezvous.HashId(id), 1)).ThenBy(id => id, StringComparer.Ordinal).First();
        }

        return first;
    }

    /// <summary>
    /// After an appliance of <paramref name="site"/> reported <paramref name="files"/> (DONE or FAILED):
    /// the site's copies of those files held back are released, with the sources ranked now (a copy
    /// just completed in the site comes first; after a failure, other holders or the origin).
    /// </summary>
    public async Task FilesReportedAsync(string site, IReadOnlyCollection<FileId> files, CancellationToken cancellationToken)
    {
        var reported = files.ToHashSet();
        var held = _store.HeldCopies(site).Where(c => reported.Contains(c.File)).ToList();
        if (held.Count > 0)
        {
            await ReleaseAsync(held, "a copy in the site was reported", overdue: false, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Releases the held copies whose bound has passed (their first copy is late), with the sources ranked now.</summary>
    public async Task ReleaseOverdueAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var overdue = _store.HeldCopies(site: null).Where(c => c.HeldUntil <= now).ToList();
        if (overdue.Count > 0)
        {
            await ReleaseAsync(overdue, "the first copy was not done within Fill:HoldShare of the window", overdue: true, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task ReleaseAsync(IReadOnlyList<HeldCopy> copies, string why, bool overdue, CancellationToken cancellationToken)
    {
        await _opening.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            IReadOnlyDictionary<string, RosterEntry> byId;
            try
            {
                byId = (await _roster.ListAsync(cancellationToken).ConfigureAwait(false)).ToDictionary(a => a.ApplianceId, StringComparer.Ordinal);
            }
            catch (InvalidOperationException) when (overdue)
            {
                // Past the bound the copies go out anyway: without the roster, from the origin.
                byId = new Dictionary<string, RosterEntry>(StringComparer.Ordinal);
            }

            var origin = OriginUrl();
            var holders = _store.CurrentFiles(site: null).Where(f => f.State == FillStore.Done).ToLookup(f => f.File, f => f.ApplianceId);
            foreach (var appliance in copies.GroupBy(c => (c.ApplianceId, c.Version, c.Site)))
            {
                var (applianceId, version, site) = appliance.Key;
                var released = appliance.Select(c => c.File).ToHashSet();
                if (_store.LatestManifest(applianceId) is not { } current || current.Version != version)
                {
                    continue;
                }

                var previous = ManifestCodec.Decode(current.Zstd);
                var sources = released.ToDictionary(f => f, f => SourceRanking.Rank(f, applianceId, site, holders[f], byId, origin));
                var next = _store.Release(applianceId, version, released, newVersion =>
                {
                    var manifest = previous.Clone();
                    manifest.Version = newVersion;
                    foreach (var copy in appliance)
                    {
                        var file = new FillFile { Title = copy.File.Title, Rendition = copy.File.Rendition, Bytes = copy.Bytes };
                        file.Sources.AddRange(sources[copy.File]);
                        manifest.Files.Add(file);
                    }

                    return ManifestCodec.Encode(manifest);
                });
                if (next is null)
                {
                    continue;
                }

                _manifests.WithLabels(site).Inc();
                foreach (var file in released)
                {
                    FillLog.CopiesReleased(_logger, site, 1, file.Title, file.Rendition, why, sources[file][0]);
                }

                StatusChanged(site);
            }
        }
        finally
        {
            _opening.Release();
        }
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
        if (_store.LatestRun(site, _time.GetUtcNow()) is { } run)
        {
            _windowOpened.WithLabels(site).Set(run.OpenedAt.ToUnixTimeMilliseconds() / 1000.0);
            _windowOpenUntil.WithLabels(site).Set(run.OpenUntil.ToUnixTimeMilliseconds() / 1000.0);
        }

        var status = Status(site);
        _titles.WithLabels(site, "live").Set(status.Titles.Count(t => t.Live));
        _titles.WithLabels(site, "filling").Set(status.Titles.Count(t => !t.Live));
        _files.WithLabels(site, "done").Set(status.Titles.Sum(t => t.CopiesComplete));
        _files.WithLabels(site, "failed").Set(status.Titles.Sum(t => t.CopiesFailed));
        _files.WithLabels(site, "pending").Set(status.Titles.Sum(t => t.CopiesPlanned - t.CopiesComplete - t.CopiesFailed));
        _files.WithLabels(site, "held").Set(status.Titles.Sum(t => t.CopiesHeld));
    }

    private string OriginUrl()
    {
        if (_options.OriginParentUrl.Length > 0)
        {
            return _options.OriginParentUrl;
        }

        if (_options.OriginUrl.Length > 0)
        {
            return _options.OriginUrl;
        }

        return _services.Origin?.ToString() ?? throw new InvalidOperationException("the origin's URL is not known yet (FillController:Origin)");
    }
}
