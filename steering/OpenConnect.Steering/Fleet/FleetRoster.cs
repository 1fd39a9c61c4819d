using OpenConnect.Steering.Selection;

namespace OpenConnect.Steering.Fleet;

/// <summary>
/// The operators' view of the fleet (<c>GET /fleet/roster</c>): every registered appliance with its
/// health, load against its capacity, hit ratio, last heartbeat, holdings and version, and each
/// site's totals. Built from the registry's views and <see cref="ApplianceReports"/>; pure.
/// </summary>
public static class FleetRoster
{
    /// <summary>Heard from within the heartbeat expiry, cache working, taking plays.</summary>
    public const string Healthy = "healthy";

    /// <summary>No heartbeat within the expiry: steering sends it no players.</summary>
    public const string Expired = "expired";

    /// <summary>Heartbeating, finishing its sessions, wants no new plays.</summary>
    public const string Draining = "draining";

    /// <summary>Heartbeating with a failed cache directory: steering sends it no players.</summary>
    public const string CacheFailed = "cache-failed";

    /// <summary>The health of an appliance whose last status is <paramref name="status"/> (expired first, then draining, then cache).</summary>
    public static string HealthOf(ApplianceStatus status, DateTimeOffset now, TimeSpan expiry) =>
        now - status.LastHeartbeat > expiry ? Expired
        : status.Draining ? Draining
        : !status.CacheHealthy ? CacheFailed
        : Healthy;

    public static Snapshot Build(IEnumerable<(ApplianceView View, long SsdBytes, string ParentUrl)> roster, ApplianceReports reports, DateTimeOffset now, TimeSpan expiry)
    {
        var appliances = new List<Appliance>();
        var windows = new Dictionary<string, HitWindow>(StringComparer.Ordinal);
        foreach (var (view, ssdBytes, parentUrl) in roster)
        {
            var status = view.Status;
            var health = HealthOf(status, now, expiry);
            var report = reports.Find(view.Id);
            var live = health != Expired;
            // An expired appliance's last load is stale: it serves nobody steering knows of.
            var bytesOut = live ? status.BytesPerSecondOut : 0;
            var connections = live ? status.Connections : 0;
            if (report is not null)
            {
                windows[view.Id] = report.Hits;
            }

            appliances.Add(new Appliance(
                view.Id,
                view.Site,
                health,
                view.PublicUrl,
                view.PublicUrlIPv6 == view.PublicUrl ? null : view.PublicUrlIPv6,
                parentUrl.Length == 0 ? null : parentUrl,
                bytesOut,
                view.CapacityBytesPerSecond,
                view.CapacityBytesPerSecond > 0 ? (double)bytesOut / view.CapacityBytesPerSecond : 0,
                connections,
                view.MaxConnections,
                report?.Hits.Ratio,
                report?.Hits.Requests ?? 0,
                status.LastHeartbeat,
                Math.Max(0, (now - status.LastHeartbeat).TotalSeconds),
                status.Titles.Count,
                ssdBytes,
                report is { Version.Length: > 0 } ? report.Version : null));
        }

        appliances.Sort((a, b) => a.Site != b.Site ? string.CompareOrdinal(a.Site, b.Site) : string.CompareOrdinal(a.Id, b.Id));
        var sites = appliances
            .GroupBy(a => a.Site, StringComparer.Ordinal)
            .Select(site =>
            {
                long requests = 0, hits = 0;
                foreach (var appliance in site)
                {
                    if (windows.TryGetValue(appliance.Id, out var window))
                    {
                        requests += window.Requests;
                        hits += window.HitRequests;
                    }
                }

                return new Site(
                    site.Key,
                    site.Count(),
                    site.Count(a => a.Health == Healthy),
                    site.Count(a => a.Health == Draining),
                    site.Count(a => a.Health == Expired),
                    site.Count(a => a.Health == CacheFailed),
                    site.Sum(a => a.BytesPerSecondOut),
                    site.Where(a => a.Health == Healthy).Sum(a => a.CapacityBytesPerSecond),
                    site.Sum(a => a.Connections),
                    requests > 0 ? (double)hits / requests : null);
            })
            .ToList();
        return new Snapshot(now, expiry.TotalSeconds, sites, appliances);
    }

    /// <summary>The roster read <c>At</c> a moment; an appliance counts as expired <c>HeartbeatExpirySeconds</c> after its last heartbeat.</summary>
    public sealed record Snapshot(DateTimeOffset At, double HeartbeatExpirySeconds, IReadOnlyList<Site> Sites, IReadOnlyList<Appliance> Appliances);

    /// <summary>
    /// A site's totals: appliances by health, bytes out, what its healthy appliances can serve
    /// (<c>CapacityBytesPerSecond</c>), connections, and cache hits over requests across its
    /// appliances' recent windows (<c>HitRatio</c>, null without traffic).
    /// </summary>
    public sealed record Site(string Name, int Appliances, int Healthy, int Draining, int Expired, int CacheFailed, long BytesPerSecondOut, long CapacityBytesPerSecond, int Connections, double? HitRatio);

    /// <summary>
    /// One appliance: <c>PublicUrlIPv6</c> null when <c>PublicUrl</c> serves both families;
    /// <c>Load</c> bytes out over capacity (load and connections 0 when expired); <c>HitRatio</c>
    /// cache hits over the <c>WindowRequests</c> of its recent window (<see cref="HitWindow"/>, null
    /// without traffic); <c>Titles</c> it holds whole or in part; <c>Version</c> null when it reported none.
    /// </summary>
    public sealed record Appliance(
        string Id,
        string Site,
        string Health,
        string PublicUrl,
        string? PublicUrlIPv6,
        string? ParentUrl,
        long BytesPerSecondOut,
        long CapacityBytesPerSecond,
        double Load,
        int Connections,
        int MaxConnections,
        double? HitRatio,
        long WindowRequests,
        DateTimeOffset LastHeartbeat,
        double HeartbeatAgeSeconds,
        int Titles,
        long SsdBytes,
        string? Version);
}
