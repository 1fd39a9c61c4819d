using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Appliance.Caching;
using OpenConnect.Contracts.Content;
using OpenConnect.FillController.History;
using OpenConnect.Testing;

namespace OpenConnect.FillController.Tests.Fill;

/// <summary>
/// Per-rendition demand on real hosts: a real origin with the ffmpeg-packaged title (video
/// renditions r0 and r1), steering, the fill controller (fake clock, its real forecast and
/// planner) and an appliance whose pin room holds one of the two video renditions but not both.
/// The configured mix says players watch r0; the first night pins r0. The site's players then
/// watch r1 through the appliance, which reports its per-(title, rendition) requests; the next
/// night the forecast's learned mix pins r1 in place of r0.
/// </summary>
public sealed class RenditionDemandEndToEndTests
{
    private const string Title = "t1";

    [Fact]
    public async Task ASitesWatchedRenditionMix_ChangesWhatIsPinnedTheNextNight()
    {
        using var originState = new TempDirectory("openconnect-fill-origin");
        await using var origin = await PublishingOrigin.StartAsync(originState, Title);
        using var originClient = origin.CreateClient();
        var integrity = IntegrityManifest.Parse(await originClient.GetByteArrayAsync(IntegrityManifest.PathFor(Title)));
        var sizes = Forecast.RenditionSizes.Sum(integrity);
        // Room for the larger video rendition, or the smaller one, but not both.
        const long SsdBytes = 64L << 20;
        var room = Math.Max(sizes["r0"], sizes["r1"]) + (Math.Min(sizes["r0"], sizes["r1"]) / 2);
        var ssdShare = ((double)room / SsdBytes).ToString("R", CultureInfo.InvariantCulture);

        await using var stack = await FillStack.StartAsync(origin.BaseAddress.ToString(), plan: null,
            $"--FillController:Fill:SsdShare={ssdShare}",
            // The configured mix: r0 is what players watch (r2, the audio rendition, is not named, so it is not placed).
            "--FillController:Forecast:RenditionShares:r0=0.9", "--FillController:Forecast:RenditionShares:r1=0.1");
        await using var appliance = await stack.StartApplianceAsync("oca-1", "isp1", "--Appliance:Fill:DemandReportInterval=00:00:00.2", $"--Appliance:Cache:SsdBytes={SsdBytes}");
        var cache = appliance.Services.GetRequiredService<SegmentCache>();

        // Day 1: players in the site ask steering for the title.
        using var steering = stack.Steering.CreateClient();
        for (var i = 0; i < 300; i++)
        {
            (await steering.GetAsync($"/play/{Title}")).EnsureSuccessStatusCode();
        }

        var collector = stack.Controller.Services.GetRequiredService<PopularityCollector>();
        await collector.CollectAsync(CancellationToken.None);

        // Night 1 (02:01 UTC tomorrow): the configured mix pins r0, and r1 does not fit beside it.
        await stack.MoveClockToAsync(FillStack.Noon.AddHours(14).AddMinutes(1));
        await stack.WaitUntilLiveAsync(Title, seconds: 120);
        Assert.True(AllPinned(cache, integrity, "r0"), "night 1 did not pin r0");
        Assert.False(AnyPinned(cache, integrity, "r1"), "night 1 pinned r1 beside r0: the room is not the constraint the test needs");

        // Day 2: the site's players watch r1, through the appliance (its segments, as players read them).
        await stack.MoveClockToAsync(FillStack.Noon.AddDays(1));
        var segments = integrity.Files.Keys.Where(k => k.StartsWith("r1/seg-", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(segments);
        using var player = appliance.CreateClient();
        for (var play = 0; play < 10; play++)
        {
            foreach (var segment in segments)
            {
                (await player.GetAsync($"/v/{Title}/{segment}")).EnsureSuccessStatusCode();
            }
        }

        // The appliance reports what it served; the controller files it under the site and its day.
        var store = stack.Controller.Services.GetRequiredService<PopularityStore>();
        var today = DateOnly.FromDateTime(FillStack.Noon.AddDays(1).UtcDateTime);
        await Eventually.TrueAsync(
            () => Task.FromResult(store.RenditionRequests(today, today).Where(c => c.Site == "isp1" && c.Title == Title && c.Rendition == "r1").Sum(c => c.Requests) == 10 * segments.Count),
            "the appliance's r1 requests reported to the fill controller");
        Assert.DoesNotContain(store.RenditionRequests(today, today), c => c.Rendition == "r0");
        await collector.CollectAsync(CancellationToken.None);

        // Night 2: the learned mix pins r1, and r0 gives up its room.
        await stack.MoveClockToAsync(FillStack.Noon.AddDays(1).AddHours(14).AddMinutes(1));
        await stack.WaitUntilLiveAsync(Title, seconds: 120);
        await Eventually.TrueAsync(() => Task.FromResult(AllPinned(cache, integrity, "r1") && !AnyPinned(cache, integrity, "r0")), "night 2 pinned r1 and unpinned r0");
    }

    private static IEnumerable<ulong> Keys(IntegrityManifest integrity, string rendition) =>
        integrity.Files.Keys.Where(k => k.StartsWith(rendition + "/", StringComparison.Ordinal)).Select(k => KeyHash.Of($"/v/{Title}/{k}"));

    private static bool AllPinned(SegmentCache cache, IntegrityManifest integrity, string rendition) => Keys(integrity, rendition).All(cache.IsPinned);

    private static bool AnyPinned(SegmentCache cache, IntegrityManifest integrity, string rendition) => Keys(integrity, rendition).Any(cache.IsPinned);
}
