using OpenConnect.Steering.Fleet;
using OpenConnect.Steering.Selection;

namespace OpenConnect.Steering.Tests.Fleet;

/// <summary>The operators' roster: health, load, the hit-ratio window and site totals (pure).</summary>
public sealed class FleetRosterTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 14, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Expiry = TimeSpan.FromSeconds(3);

    [Theory]
    [InlineData(1, false, true, FleetRoster.Healthy)]
    [InlineData(3, false, true, FleetRoster.Healthy)]
    [InlineData(4, false, true, FleetRoster.Expired)]
    [InlineData(4, true, false, FleetRoster.Expired)]
    [InlineData(1, true, true, FleetRoster.Draining)]
    [InlineData(1, true, false, FleetRoster.Draining)]
    [InlineData(1, false, false, FleetRoster.CacheFailed)]
    public void HealthOf_ExpiredFirst_ThenDraining_ThenCache(int secondsSinceHeartbeat, bool draining, bool cacheHealthy, string expected)
    {
        var status = new ApplianceStatus(Now - TimeSpan.FromSeconds(secondsSinceHeartbeat), 0, 0, cacheHealthy, draining, ApplianceStatus.NoTitles);
        Assert.Equal(expected, FleetRoster.HealthOf(status, Now, Expiry));
    }

    [Theory]
    // Since the start: 30 of 40 requests were hits.
    [InlineData(60, 40, 30, null, null, 0, 0.75)]
    // No requests yet: no ratio.
    [InlineData(60, 0, 0, null, null, 0, null)]
    // Past the span, the baseline moves to the previous sample: only the 10 requests since count (5 hits).
    [InlineData(200, 40, 30, 400, 50, 35, 0.5)]
    // Within the span, the baseline stays at the start: 35 of 50.
    [InlineData(100, 40, 30, 200, 50, 35, 0.7)]
    // Counters went down (a restart steering missed): the window starts again from the new sample.
    [InlineData(100, 40, 30, 200, 8, 2, 0.25)]
    public void HitWindow_CoversTheRecentSpan(int firstAt, int firstRequests, int firstHits, int? secondAt, int? secondRequests, int secondHits, double? expected)
    {
        var window = HitWindow.Start(Now).Add(new HitSample(Now.AddSeconds(firstAt), firstRequests, firstHits));
        if (secondAt is { } at)
        {
            window = window.Add(new HitSample(Now.AddSeconds(at), secondRequests!.Value, secondHits));
        }

        Assert.Equal(expected, window.Ratio);
    }

    [Fact]
    public void HitWindow_RefusesMoreHitsThanRequests()
    {
        var window = HitWindow.Start(Now).Add(new HitSample(Now.AddSeconds(1), 10, 20));
        Assert.Null(window.Ratio);
        Assert.Equal(0, window.Requests);
    }

    [Fact]
    public void Build_TotalsSites_AndZeroesTheLoadOfExpiredAppliances()
    {
        var reports = new ApplianceReports();
        reports.Registered("a1", "i1", "1.2.0", Now.AddMinutes(-1));
        reports.Heartbeat("a1", "i1", 100, 90, Now);
        reports.Registered("a2", "i2", "bad\nversion", Now.AddMinutes(-1));
        reports.Heartbeat("a2", "i2", 100, 50, Now);
        var titles = new HashSet<string>(["t1", "t2"], StringComparer.Ordinal);
        var roster = new[]
        {
            (View("a1", "isp1", new ApplianceStatus(Now.AddSeconds(-1), 250_000_000, 40, true, false, titles)), 1_000_000_000L, ""),
            (View("a2", "isp1", new ApplianceStatus(Now.AddSeconds(-10), 500_000_000, 80, true, false, ApplianceStatus.NoTitles)), 2_000_000_000L, "https://10.0.0.2:8443"),
            (View("b1", "isp2", new ApplianceStatus(Now, 0, 0, true, true, ApplianceStatus.NoTitles)), 0L, ""),
        };

        var snapshot = FleetRoster.Build(roster, reports, Now, Expiry);

        Assert.Equal(["a1", "a2", "b1"], snapshot.Appliances.Select(a => a.Id));
        var a1 = snapshot.Appliances[0];
        Assert.Equal(FleetRoster.Healthy, a1.Health);
        Assert.Equal(0.25, a1.Load);
        Assert.Equal(0.9, a1.HitRatio);
        Assert.Equal(2, a1.Titles);
        Assert.Equal("1.2.0", a1.Version);
        Assert.Null(a1.ParentUrl);
        var a2 = snapshot.Appliances[1];
        Assert.Equal(FleetRoster.Expired, a2.Health);
        Assert.Equal(0, a2.BytesPerSecondOut);
        Assert.Equal(0, a2.Connections);
        Assert.Null(a2.Version);
        Assert.Equal(10, a2.HeartbeatAgeSeconds);
        Assert.Equal(FleetRoster.Draining, snapshot.Appliances[2].Health);
        Assert.Null(snapshot.Appliances[2].HitRatio);

        var isp1 = snapshot.Sites[0];
        Assert.Equal(("isp1", 2, 1, 1), (isp1.Name, isp1.Appliances, isp1.Healthy, isp1.Expired));
        Assert.Equal(250_000_000, isp1.BytesPerSecondOut);
        Assert.Equal(1_000_000_000, isp1.CapacityBytesPerSecond);
        Assert.Equal(0.7, isp1.HitRatio);
        Assert.Equal(("isp2", 1, 0, 1), (snapshot.Sites[1].Name, snapshot.Sites[1].Appliances, snapshot.Sites[1].Healthy, snapshot.Sites[1].Draining));
    }

    private static ApplianceView View(string id, string site, ApplianceStatus status) =>
        new(id, site, $"https://{id}.example:8400", 1_000_000_000, 1000, status);
}
