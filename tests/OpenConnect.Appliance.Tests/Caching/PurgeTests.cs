using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Appliance.Caching;
using OpenConnect.Appliance.Tests.Control;
using OpenConnect.Appliance.Tests.Serving;
using OpenConnect.Contracts.Content;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Hosting;
using OpenConnect.Testing;

namespace OpenConnect.Appliance.Tests.Caching;

/// <summary>
/// Purges and takedowns on a real appliance (real tiers and files, a real parent): a purge drops an
/// object, a title or everything from RAM, SSD and pins; a takedown list answers 410 without asking a
/// parent, drops the titles, and survives a restart, which also drops what a crash left on SSD.
/// </summary>
public sealed class PurgeTests
{
    private const string A1 = "/v/ta/720p/seg-00001.m4s";
    private const string A2 = "/v/ta/720p/seg-00002.m4s";
    private const string B1 = "/v/tb/720p/seg-00001.m4s";

    private static SegmentCache CacheOf(ApplianceHarness h) => h.Appliance.Services.GetRequiredService<SegmentCache>();

    private static async Task<HttpStatusCode> GetAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        await response.Content.ReadAsByteArrayAsync();
        return response.StatusCode;
    }

    [Fact]
    public async Task PurgingATitle_DropsItsObjectsAndPins_AndLeavesOtherTitles()
    {
        await using var h = await ApplianceHarness.StartAsync();
        var cache = CacheOf(h);
        foreach (var (path, seed) in new[] { (A1, 1), (A2, 2), (B1, 3) })
        {
            h.Parent.Put(path, ApplianceHarness.RandomBytes(40_000, seed));
        }

        using var client = new HttpClient { BaseAddress = h.BaseAddress };
        Assert.Equal(HttpStatusCode.OK, await GetAsync(client, A1));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(client, B1));
        var pinned = ApplianceHarness.RandomBytes(40_000, 2);
        var filled = await cache.StoreFilledAsync(KeyHash.Of(A2), A2, pinned, SHA256.HashData(pinned), "video/mp4", "\"f\"", DateTimeOffset.UnixEpoch, CancellationToken.None);
        Assert.True(filled.Ok, filled.Error);
        Assert.True(cache.IsPinned(KeyHash.Of(A2)));

        var result = await cache.PurgeAsync(PurgeScope.Title("ta"), CancellationToken.None);

        Assert.Equal(2, result.Objects);
        Assert.Equal(1, result.Pins);
        Assert.False(cache.IsPinned(KeyHash.Of(A2)));
        Assert.False(cache.HeldOnSsd(KeyHash.Of(A2)));
        Assert.Equal(0, cache.PinnedBytes);
        Assert.Equal(HttpStatusCode.OK, await GetAsync(client, A1));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(client, B1));
        Assert.Equal(2, h.Parent.RequestsFor(A1));
        Assert.Equal(1, h.Parent.RequestsFor(B1));
    }

    [Fact]
    public async Task PurgingOneObject_OrEverything_DropsExactlyThat()
    {
        await using var h = await ApplianceHarness.StartAsync();
        var cache = CacheOf(h);
        h.Parent.Put(A1, ApplianceHarness.RandomBytes(30_000, 4));
        h.Parent.Put(A2, ApplianceHarness.RandomBytes(30_000, 5));
        using var client = new HttpClient { BaseAddress = h.BaseAddress };
        Assert.Equal(HttpStatusCode.OK, await GetAsync(client, A1));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(client, A2));
        Assert.Equal(HttpStatusCode.NotFound, await GetAsync(client, "/v/ta/720p/missing.m4s"));

        Assert.True(ContentKey.TryParse(A1, out var key));
        Assert.Equal(1, (await cache.PurgeAsync(PurgeScope.Object(key), CancellationToken.None)).Objects);
        Assert.Equal(HttpStatusCode.OK, await GetAsync(client, A2));
        Assert.Equal(1, h.Parent.RequestsFor(A2));

        var all = await cache.PurgeAsync(PurgeScope.Everything, CancellationToken.None);
        Assert.Equal(1, all.Objects);
        Assert.Equal(1, all.NotFoundEntries);
        Assert.Equal(HttpStatusCode.OK, await GetAsync(client, A2));
        Assert.Equal(2, h.Parent.RequestsFor(A2));
    }

    [Fact]
    public async Task ATakenDownTitle_Answers410WithoutAParent_IsDropped_AndStaysRefusedAcrossARestart()
    {
        using var state = new TempDirectory("openconnect-takedown-restart");
        await using var parent = await TestParent.StartAsync();
        parent.Put(A1, ApplianceHarness.RandomBytes(30_000, 6));
        parent.Put(B1, ApplianceHarness.RandomBytes(30_000, 7));
        string[] settings =
        [
            $"--Appliance:Cache:Directory={state.Path}",
            ApplianceHarness.UnsignedLoopback,
            ApplianceHarness.AllowUnsignedContent,
            $"--Appliance:Parents:0={parent.BaseAddress}",
            "--Appliance:Cache:RamBytes=1048576",
            "--Appliance:Cache:SsdBytes=67108864",
        ];
        await using (var first = await RunningRole.StartAsync(ApplianceHost.Build, settings))
        {
            var cache = first.Services.GetRequiredService<SegmentCache>();
            using var client = new HttpClient { BaseAddress = first.BaseAddress };
            Assert.Equal(HttpStatusCode.OK, await GetAsync(client, A1));

            Assert.Equal(["ta"], await cache.ApplyTakedownsAsync(1, new Dictionary<string, string> { ["ta"] = "deleted" }, CancellationToken.None));
            using var gone = await client.GetAsync(A1);
            Assert.Equal(HttpStatusCode.Gone, gone.StatusCode);
            Assert.Contains("taken-down", gone.Headers.GetValues("Cache-Status").Single(), StringComparison.Ordinal);
            Assert.Equal(1, parent.RequestsFor(A1));
            Assert.Equal(HttpStatusCode.OK, await GetAsync(client, B1));

            // A fill of a taken-down object is refused, and an object a crash left on SSD is put there directly.
            var body = ApplianceHarness.RandomBytes(1000, 8);
            Assert.False((await cache.StoreFilledAsync(KeyHash.Of(A2), A2, body, SHA256.HashData(body), "video/mp4", "\"f\"", DateTimeOffset.UnixEpoch, CancellationToken.None)).Ok);
            await using var writer = cache.Store.BeginWrite(KeyHash.Of(A2), A2, body.Length, "video/mp4", "\"c\"", DateTimeOffset.UnixEpoch);
            await writer.AppendAsync(body);
            Assert.True(await writer.CommitAsync());
        }

        await using var second = await RunningRole.StartAsync(ApplianceHost.Build, settings);
        var restarted = second.Services.GetRequiredService<SegmentCache>();
        Assert.Equal(1ul, restarted.Takedowns.Generation);
        Assert.False(restarted.HeldOnSsd(KeyHash.Of(A2)));
        using var again = new HttpClient { BaseAddress = second.BaseAddress };
        Assert.Equal(HttpStatusCode.Gone, await GetAsync(again, A1));
        Assert.Equal(1, parent.RequestsFor(A1));

        // Lifted (republished): served again.
        Assert.Empty(await restarted.ApplyTakedownsAsync(2, new Dictionary<string, string>(), CancellationToken.None));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(again, A1));
    }

    [Fact]
    public async Task AParentsGone_IsPassedOnAs410()
    {
        await using var h = await ApplianceHarness.StartAsync();
        h.Parent.FailWithStatus = 410;
        using var client = new HttpClient { BaseAddress = h.BaseAddress };
        Assert.Equal(HttpStatusCode.Gone, await GetAsync(client, A1));
    }

    [Fact]
    public async Task AnOperator_PurgesOverTheControlListener_AndABadScopeIs400()
    {
        var appliance = FleetIdentity.Appliance("isp-p", "oca-p");
        var fleet = TestFleet.ApplianceFleetSettings(appliance.Name, appliance.Site, out _);
        await using var h = await ApplianceHarness.StartAsync([$"--Appliance:Id={appliance.Name}", $"--Appliance:Site={appliance.Site}", .. fleet]);
        h.Parent.Put(A1, ApplianceHarness.RandomBytes(20_000, 9));
        using (var client = new HttpClient { BaseAddress = h.BaseAddress })
        {
            Assert.Equal(HttpStatusCode.OK, await GetAsync(client, A1));
        }

        var control = h.Appliance.Services.GetRequiredService<RoleListeners>().ControlAddress;
        using var operatorClient = TestFleet.ControlHttp(control, TestFleet.Ca.Issue("openconnect://operator/alice"), appliance, _ => { });
        using var purged = await operatorClient.PostAsJsonAsync("/control/purge", new { scope = "title", titleId = "ta" });
        Assert.Equal(HttpStatusCode.OK, purged.StatusCode);
        Assert.Equal("""{"scope":"title ta","objects":1,"pins":0,"notFoundEntries":0}""", await purged.Content.ReadAsStringAsync());

        foreach (var bad in new object[] { new { scope = "title", titleId = "../x" }, new { scope = "object", path = "/etc/passwd" }, new { scope = "everything" } })
        {
            using var refused = await operatorClient.PostAsJsonAsync("/control/purge", bad);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        }

        using var applianceClient = TestFleet.ControlHttp(control, TestFleet.Ca.Issue(appliance.ToString()), appliance, _ => { });
        using var forbidden = await applianceClient.PostAsJsonAsync("/control/purge", new { scope = "all" });
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
    }
}
