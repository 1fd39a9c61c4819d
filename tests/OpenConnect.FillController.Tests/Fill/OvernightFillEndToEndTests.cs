using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Appliance.Caching;
using OpenConnect.Contracts.Content;
using OpenConnect.Contracts.Security;
using OpenConnect.FillController.History;
using OpenConnect.Steering.Signing;
using OpenConnect.Testing;

namespace OpenConnect.FillController.Tests.Fill;

/// <summary>
/// The whole overnight story on real hosts: a real origin with a real ffmpeg package (signed
/// integrity manifest), steering, the fill controller (fake clock) and an appliance that only
/// accepts steering-signed player URLs, with the real play history, forecast and placement
/// planner. Players ask steering for the title during the day; the clock moves to the site's night
/// window, the title is pushed; the next morning a player's signed request for a segment is a cache
/// hit, and the origin sees no request for it.
/// </summary>
public sealed class OvernightFillEndToEndTests
{
    private const string Title = "t1";

    [Fact]
    public async Task ATitlePushedOvernight_IsServedAsAHitTheNextMorning_WithoutAnOriginRequest()
    {
        using var originState = new TempDirectory("openconnect-fill-origin");
        await using var origin = await PublishingOrigin.StartAsync(originState, Title);
        using var originClient = origin.CreateClient();
        var integrity = IntegrityManifest.Parse(await originClient.GetByteArrayAsync(IntegrityManifest.PathFor(Title)));

        await using var stack = await FillStack.StartAsync(origin.BaseAddress.ToString(), plan: null);
        var issuer = stack.Steering.Services.GetRequiredService<TokenIssuer>();
        // Players only: no unsigned networks, so every content request needs steering's token.
        var settings = stack.ApplianceSettings("oca-1", "isp1", $"--Appliance:PlaybackKeys:0={issuer.Key.PublicKey}")
            .Where(s => !s.StartsWith("--Appliance:UnsignedNetworks", StringComparison.Ordinal)).ToArray();
        await using var appliance = await RunningRole.StartAsync(OpenConnect.Appliance.ApplianceHost.Build, settings);
        await stack.WaitForRosterAsync("oca-1");

        // Day: players in the site (loopback is isp1) ask steering for the title; the controller collects
        // that history. Enough plays that each file's expected requests outweigh the planner's fetch cost.
        using var steering = stack.Steering.CreateClient();
        for (var i = 0; i < 60; i++)
        {
            (await steering.GetAsync($"/play/{Title}")).EnsureSuccessStatusCode();
        }

        await stack.Controller.Services.GetRequiredService<PopularityCollector>().CollectAsync(CancellationToken.None);

        // Night: 02:01 UTC tomorrow, inside the site's 02:00-06:00 window.
        await stack.MoveClockToAsync(FillStack.Noon.AddHours(14).AddMinutes(1));
        await stack.WaitUntilLiveAsync(Title, seconds: 120);

        // Morning: the window is closed; a player asks steering's way for a segment.
        await stack.MoveClockToAsync(FillStack.Noon.AddHours(20));
        // A segment of a rendition the planner placed on the appliance (pinned there by the fill).
        var cache = appliance.Services.GetRequiredService<SegmentCache>();
        var segment = integrity.Files.Keys.Where(k => k.Contains("/seg-", StringComparison.Ordinal)).Order(StringComparer.Ordinal)
            .FirstOrDefault(k => cache.IsPinned(KeyHash.Of($"/v/{Title}/{k}")));
        Assert.NotNull(segment);
        var contentPath = $"/v/{Title}/{segment}";
        // A token naming oca-1, as steering issues for a decision that offers it (v2: its own MAC entry).
        var oca1 = stack.Steering.Services.GetRequiredService<OpenConnect.Steering.ControlPlane.ApplianceRegistry>().Find("oca-1");
        var (token, _) = issuer.Issue(Title, IPAddress.Loopback, DateTimeOffset.UtcNow, [oca1]);
        // The player's connection carries content requests only; metrics come from the management listener.
        using var player = appliance.CreateClient();
        using var metrics = appliance.CreateManagementClient();

        Assert.Equal(HttpStatusCode.Forbidden, (await player.GetAsync(contentPath)).StatusCode);
        var originBefore = await OriginRequestsAsync(origin);
        Assert.True(originBefore > 0, "the origin's request counter did not see the fill's requests");
        var before = PrometheusText.Parse(await metrics.GetStringAsync("/metrics"));
        var body = await player.GetByteArrayAsync(UrlToken.SignedPath(token, contentPath));
        Assert.Equal(integrity.Files[segment].Sha256, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(body)));

        // The appliance counts a request once its response is sent, just after the client has the body.
        var after = before;
        await Eventually.TrueAsync(async () => Hits(after = PrometheusText.Parse(await metrics.GetStringAsync("/metrics"))) > Hits(before), "the request counted");
        Assert.Equal(Hits(before) + 1, Hits(after));
        Assert.Equal(before.Value("openconnect_appliance_requests_total", ("tier", "miss")) ?? 0, after.Value("openconnect_appliance_requests_total", ("tier", "miss")) ?? 0);
        Assert.Equal(originBefore, await OriginRequestsAsync(origin));
        Assert.Equal(0, after.Value("openconnect_appliance_upstream_fetches_total") ?? 0);
    }

    private static double Hits(PrometheusText.Document metrics) =>
        (metrics.Value("openconnect_appliance_requests_total", ("tier", "ssd")) ?? 0) + (metrics.Value("openconnect_appliance_requests_total", ("tier", "ram")) ?? 0);

    /// <summary>Content requests the origin has received (its HTTP request counter, all codes and endpoints but /metrics).</summary>
    private static async Task<double> OriginRequestsAsync(RunningRole origin)
    {
        var metrics = await origin.MetricsAsync();
        return metrics.Families.TryGetValue("http_requests_received_total", out var family)
            ? family.Samples.Where(s => !s.Labels.TryGetValue("endpoint", out var e) || !e.Contains("metrics", StringComparison.Ordinal)).Sum(s => s.Value)
            : 0;
    }
}
