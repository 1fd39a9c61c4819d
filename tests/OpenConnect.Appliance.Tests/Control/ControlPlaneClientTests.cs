using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Appliance.Control;
using OpenConnect.Appliance.Tests.Serving;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Contracts.Security;
using OpenConnect.Hosting;

namespace OpenConnect.Appliance.Tests.Control;

/// <summary>The appliance against a real gRPC control plane on loopback.</summary>
public sealed class ControlPlaneClientTests
{
    private static readonly Ed25519SigningKey Steering = Ed25519SigningKey.Generate();

    private static string[] Settings(Uri controlPlane, params string[] more) =>
    [
        $"--Appliance:Steering:Url={controlPlane}",
        "--Appliance:Steering:HeartbeatInterval=00:00:00.1",
        "--Appliance:Steering:CallTimeout=00:00:01",
        "--Appliance:Id=oca-7",
        "--Appliance:Site=isp-a",
        "--Appliance:CapacityBytesPerSecond=1000000000",
        $"--Appliance:PlaybackKeys:0={Steering.PublicKey}",
        .. RecordingControlPlane.FleetSettings("oca-7", "isp-a"),
        .. more,
    ];

    /// <summary>Steering refuses ids and site names outside its rule; the appliance says so at start, naming the key.</summary>
    [Theory]
    [InlineData("--Appliance:Site=my site", "Appliance:Site")]
    [InlineData("--Appliance:Site=", "Appliance:Site")]
    [InlineData("--Appliance:Id=oca/7", "Appliance:Id")]
    public async Task AnIdOrSiteSteeringWouldRefuse_StopsTheApplianceAtStart_WithTheKeyName(string setting, string key)
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => ApplianceHarness.StartAsync(Settings(new Uri("https://127.0.0.1:9"), setting)));
        Assert.Contains(key, ex.Message);
        Assert.Contains("1-64 characters of [A-Za-z0-9._-]", ex.Message);
    }

    [Fact]
    public async Task Registers_ItsParentListenersUrl_ForFillSources_AndNoneWithoutOne()
    {
        await using var steering = await RecordingControlPlane.StartAsync();
        await using (var harness = await ApplianceHarness.StartAsync(Settings(steering.Url, "--Appliance:Upstream:ParentListenerUrl=https://127.0.0.1:0")))
        {
            await Until(() => !steering.Registrations.IsEmpty, "registration");
            var bound = harness.Appliance.Services.GetRequiredService<OpenConnect.Hosting.RoleListeners>().ParentAddress;
            Assert.Equal($"https://127.0.0.1:{bound.Port}", Assert.Single(steering.Registrations).Identity.ParentUrl);
        }

        await using var plain = await RecordingControlPlane.StartAsync();
        await using var without = await ApplianceHarness.StartAsync(Settings(plain.Url));
        await Until(() => !plain.Registrations.IsEmpty, "registration");
        Assert.Equal("", Assert.Single(plain.Registrations).Identity.ParentUrl);
    }

    /// <summary>A parent listener bound to every address is advertised on the public URL's host.</summary>
    [Theory]
    [InlineData("https://127.0.0.1:8443/", "http://198.18.1.11:8400", "https://127.0.0.1:8443")]
    [InlineData("https://0.0.0.0:8443/", "http://oca-1.isp.example:8400", "https://oca-1.isp.example:8443")]
    [InlineData("https://[::]:8443/", "http://[2001:2::11]:8400", "https://[2001:2::11]:8443")]
    public void AdvertisedParentUrl_IsTheBoundAddress_OrThePublicHostForAWildcard(string bound, string publicUrl, string advertised) =>
        Assert.Equal(advertised, ControlPlaneClient.AdvertisedParentUrl(new Uri(bound), publicUrl));

    [Fact]
    public async Task Registers_ThenHeartbeats_LoadHealthAndInventory_AsDeltas()
    {
        await using var steering = await RecordingControlPlane.StartAsync();
        await using var harness = await ApplianceHarness.StartAsync(Settings(steering.Url));
        await Until(() => !steering.Heartbeats.IsEmpty, "first heartbeat");

        var registration = Assert.Single(steering.Registrations);
        Assert.Equal("oca-7", registration.Identity.ApplianceId);
        Assert.Equal("isp-a", registration.Identity.Site);
        Assert.Equal(FleetIdentity.Appliance("isp-a", "oca-7"), Assert.Single(steering.Callers));
        Assert.Equal(harness.BaseAddress.ToString().TrimEnd('/'), registration.Identity.PublicUrl);
        Assert.Equal(1_000_000_000, registration.Identity.CapacityBytesPerSecond);
        Assert.Equal(268435456, registration.Identity.SsdBytes);
        Assert.Equal(RoleVersion.Current, registration.Identity.Version);
        var first = steering.Heartbeats.First();
        Assert.Equal(registration.InstanceId, first.InstanceId);
        Assert.True(first.Health.CacheHealthy);
        Assert.False(first.Health.Draining);
        Assert.True(first.Inventory.Full);
        Assert.Empty(steering.Inventory);

        // Serve two renditions' segments and a master playlist: the inventory follows as deltas.
        var segment = ApplianceHarness.RandomBytes(400_000, 9);
        harness.Parent.Put("/v/t1/master.m3u8", "#EXTM3U\n"u8.ToArray());
        harness.Parent.Put("/v/t1/720p/seg-1.m4s", segment);
        harness.Parent.Put("/v/t1/1080p/seg-1.m4s", segment);
        var token = UrlToken.Sign(Steering, DateTimeOffset.UtcNow.AddMinutes(5), UrlToken.TitlePrefix("t1"));
        using var client = new HttpClient { BaseAddress = harness.BaseAddress };
        foreach (var path in new[] { "/v/t1/master.m3u8", "/v/t1/720p/seg-1.m4s", "/v/t1/1080p/seg-1.m4s" })
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(UrlToken.SignedPath(token, path))).StatusCode);
        }

        // The same segment again is a cache hit: heartbeats carry the counters steering's hit ratio comes from.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(UrlToken.SignedPath(token, "/v/t1/720p/seg-1.m4s"))).StatusCode);
        await Until(() => steering.Heartbeats.Any(h => h.Load.Requests == 4), "a heartbeat counting four requests");
        var counted = steering.Heartbeats.First(h => h.Load.Requests == 4);
        Assert.Equal(1, counted.Load.HitRequests);
        Assert.Equal(0, first.Load.HitRequests);

        await Until(() => steering.Inventory.SetEquals(["t1", "t1/720p", "t1/1080p"]), "inventory t1, t1/720p, t1/1080p");
        var updates = steering.Heartbeats.Where(h => h.Inventory is not null).ToList();
        Assert.Contains(updates, h => !h.Inventory.Full && h.Inventory.BaseVersion >= 1);
        Assert.Contains(steering.Heartbeats, h => h.Load.BytesPerSecondOut > 0);
        Assert.All(steering.Heartbeats, h => Assert.Equal("oca-7", h.ApplianceId));
        var sequences = steering.Heartbeats.Select(h => h.Sequence).ToList();
        Assert.Equal(sequences.Order(), sequences);

        // Steering loses track and asks for the full set: it gets it, and ends with the same inventory.
        steering.WantFullNext = true;
        var before = steering.Heartbeats.Count;
        await Until(() => steering.Heartbeats.Skip(before).Any(h => h.Inventory is { Full: true }), "a full inventory after want_full_inventory");
        Assert.True(steering.Inventory.SetEquals(["t1", "t1/720p", "t1/1080p"]));
    }

    /// <summary>
    /// v2 tokens verify with the MAC key steering sends this appliance (oca-7) in its replies: a token
    /// naming oca-7 is served; one minted with another appliance's key (oca-8), one forging oca-7's
    /// entry with that key, and expired, other-title or other-client v2 tokens are refused.
    /// </summary>
    [Theory]
    [InlineData("good", null)]
    [InlineData("other-appliance", "issued for other servers")]
    [InlineData("forged-entry", "tampered")]
    [InlineData("origin-only", "issued for other servers")]
    [InlineData("expired", "expired")]
    [InlineData("wrong-title", "does not cover this path")]
    [InlineData("wrong-client", "another client network")]
    public async Task V2Tokens_VerifyWithTheKeySteeringSent_AndOnlyForThisAppliance(string kind, string? reason)
    {
        await using var steering = await RecordingControlPlane.StartAsync();
        var own = PlaybackMacKey.Derive(Steering, "oca-7");
        var other = PlaybackMacKey.Derive(Steering, "oca-8");
        var origin = PlaybackMacKey.Derive(Steering, PlaybackMacKey.OriginVerifier);
        steering.PlaybackKey = own;
        await using var harness = await ApplianceHarness.StartAsync(Settings(steering.Url, "--Appliance:UnsignedNetworks:0=192.0.2.0/24"));
        await Until(() => !steering.Heartbeats.IsEmpty, "first heartbeat");
        harness.Parent.Put("/v/t1/720p/seg-1.m4s", ApplianceHarness.RandomBytes(5000, 11));

        var later = DateTimeOffset.UtcNow.AddMinutes(5);
        var t1 = UrlToken.TitlePrefix("t1");
        var token = kind switch
        {
            "good" => UrlToken.SignMac([other, own, origin], later, t1, "127.0.0.0/24,::/0"),
            "other-appliance" => UrlToken.SignMac([other], later, t1),
            "forged-entry" => ForgeEntry(other, own.Tag, later, t1),
            "origin-only" => UrlToken.SignMac([origin], later, t1),
            "expired" => UrlToken.SignMac([own], DateTimeOffset.UtcNow.AddSeconds(-5), t1),
            "wrong-title" => UrlToken.SignMac([own], later, UrlToken.TitlePrefix("t2")),
            "wrong-client" => UrlToken.SignMac([own], later, t1, "198.51.100.0/24"),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
        using var client = new HttpClient { BaseAddress = harness.BaseAddress };
        var response = await client.GetAsync(UrlToken.SignedPath(token, "/v/t1/720p/seg-1.m4s"));

        if (reason is null)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return;
        }

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains(reason, await response.Content.ReadAsStringAsync());
        Assert.Equal(0, harness.Parent.TotalRequests);
    }

    /// <summary>A token whose only entry carries <paramref name="tag"/> (another verifier's) but a MAC under <paramref name="key"/>.</summary>
    private static string ForgeEntry(PlaybackMacKey key, uint tag, DateTimeOffset expires, string pathPrefix)
    {
        var token = UrlToken.SignMac([key], expires, pathPrefix);
        var dot = token.IndexOf('.');
        var entry = System.Buffers.Text.Base64Url.DecodeFromChars(token.AsSpan(dot + 1));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(entry, tag);
        return string.Concat(token.AsSpan(0, dot + 1), System.Buffers.Text.Base64Url.EncodeToString(entry));
    }

    [Fact]
    public async Task RegistersAgain_WhenSteeringDoesNotKnowIt()
    {
        await using var steering = await RecordingControlPlane.StartAsync();
        await using var harness = await ApplianceHarness.StartAsync(Settings(steering.Url));
        await Until(() => steering.Heartbeats.Count >= 2, "heartbeats");
        steering.ForgetNext = true;
        await Until(() => steering.Registrations.Count >= 2, "a second registration");
        var count = steering.Heartbeats.Count;
        await Until(() => steering.Heartbeats.Count > count + 2, "heartbeats after registering again");
        Assert.Single(steering.Registrations.Select(r => r.InstanceId).Distinct());
    }

    [Fact]
    public async Task Draining_IsSwitchedOnTheControlEndpoint_ReportedInHeartbeats_AndHealthz()
    {
        await using var steering = await RecordingControlPlane.StartAsync();
        await using var harness = await ApplianceHarness.StartAsync(Settings(steering.Url));
        using var control = TestFleet.ControlHttp(ControlAddress(harness), TestFleet.Ca.Issue("openconnect://operator/ops"), FleetIdentity.Appliance("isp-a", "oca-7"));
        using var data = new HttpClient { BaseAddress = harness.BaseAddress };
        using var management = harness.Appliance.CreateManagementClient();

        Assert.Equal(HttpStatusCode.NotFound, (await data.PostAsync("/control/drain", null)).StatusCode);
        var drain = await control.PostAsync("/control/drain", null);
        Assert.Equal(HttpStatusCode.OK, drain.StatusCode);
        var count = steering.Heartbeats.Count;
        await Until(() => steering.Heartbeats.Skip(count).Any(h => h.Health.Draining), "a draining heartbeat");
        var health = await management.GetStringAsync("/healthz");
        Assert.Contains("Degraded", health);
        Assert.Contains("draining", health);

        Assert.Equal(HttpStatusCode.OK, (await control.DeleteAsync("/control/drain")).StatusCode);
        count = steering.Heartbeats.Count;
        await Until(() => steering.Heartbeats.Skip(count).Any(h => !h.Health.Draining), "a heartbeat no longer draining");
        Assert.DoesNotContain("Degraded", await management.GetStringAsync("/healthz"));
    }

    [Fact]
    public async Task WithoutTheControlPlane_NewSessionsAreRefused_SegmentsFlow_AndItRecovers()
    {
        var port = RecordingControlPlane.FreePort();
        var url = new Uri($"https://127.0.0.1:{port}");
        await using var harness = await ApplianceHarness.StartAsync(Settings(url, "--Appliance:Steering:LostAfter=00:00:01"));
        harness.Parent.Put("/v/t1/master.m3u8", "#EXTM3U\n"u8.ToArray());
        harness.Parent.Put("/v/t1/manifest.mpd", "<MPD/>"u8.ToArray());
        harness.Parent.Put("/v/t1/720p/seg-1.m4s", ApplianceHarness.RandomBytes(1000, 3));
        var token = UrlToken.Sign(Steering, DateTimeOffset.UtcNow.AddMinutes(5), UrlToken.TitlePrefix("t1"));
        using var client = new HttpClient { BaseAddress = harness.BaseAddress };
        using var management = harness.Appliance.CreateManagementClient();

        var state = harness.Appliance.Services.GetRequiredService<ControlState>();
        await Until(() => state.Lost, "the control plane counted as lost");
        var playlist = await client.GetAsync(UrlToken.SignedPath(token, "/v/t1/master.m3u8"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, playlist.StatusCode);
        Assert.NotNull(playlist.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync(UrlToken.SignedPath(token, "/v/t1/manifest.mpd"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(UrlToken.SignedPath(token, "/v/t1/720p/seg-1.m4s"))).StatusCode);
        var health = await management.GetStringAsync("/healthz");
        Assert.Contains("Degraded", health);
        Assert.Contains("control plane unreachable", health);

        await using var steering = await RecordingControlPlane.StartAsync(port);
        await Until(() => !steering.Heartbeats.IsEmpty, "heartbeats once steering is up");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(UrlToken.SignedPath(token, "/v/t1/master.m3u8"))).StatusCode);
        Assert.DoesNotContain("Degraded", await management.GetStringAsync("/healthz"));
    }

    [Fact]
    public async Task Standalone_WithoutSteeringSettings_IsNeverLost()
    {
        await using var harness = await ApplianceHarness.StartAsync($"--Appliance:PlaybackKeys:0={Steering.PublicKey}", "--Appliance:Steering:HeartbeatInterval=00:00:00.2", "--Appliance:Steering:LostAfter=00:00:01");
        harness.Parent.Put("/v/t1/master.m3u8", "#EXTM3U\n"u8.ToArray());
        await Task.Delay(1500);
        var token = UrlToken.Sign(Steering, DateTimeOffset.UtcNow.AddMinutes(5), UrlToken.TitlePrefix("t1"));
        using var client = new HttpClient { BaseAddress = harness.BaseAddress };
        using var management = harness.Appliance.CreateManagementClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(UrlToken.SignedPath(token, "/v/t1/master.m3u8"))).StatusCode);
        Assert.Contains("standalone", await management.GetStringAsync("/healthz"));
    }

    private static Uri ControlAddress(ApplianceHarness harness) =>
        harness.Appliance.Services.GetRequiredService<OpenConnect.Hosting.RoleListeners>().ControlAddress;

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }
}
