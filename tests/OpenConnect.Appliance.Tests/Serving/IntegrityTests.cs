using System.Security.Cryptography;
using System.Text;
using OpenConnect.Contracts.Content;
using OpenConnect.Contracts.Security;

namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>Pulled objects are checked against the title's integrity manifest: a bad body is never delivered whole or cached.</summary>
public sealed class IntegrityTests
{
    private static readonly Ed25519SigningKey OriginKey = Ed25519SigningKey.FromSeed(Enumerable.Range(7, 32).Select(i => (byte)i).ToArray());
    private static readonly Ed25519SigningKey ForeignKey = Ed25519SigningKey.FromSeed(Enumerable.Range(9, 32).Select(i => (byte)i).ToArray());

    private static byte[] Manifest(string title, params (string Relative, byte[] Body)[] files) => Manifest(OriginKey, title, files);

    private static byte[] Manifest(Ed25519SigningKey key, string title, params (string Relative, byte[] Body)[] files) =>
        IntegrityManifest.Create(title, files.ToDictionary(f => f.Relative, f => new IntegrityEntry(f.Body.Length, Convert.ToHexStringLower(SHA256.HashData(f.Body)))), key).ToJsonBytes();

    [Fact]
    public async Task MatchingBody_IsServedAndCached()
    {
        await using var h = await ApplianceHarness.StartAsync();
        var body = ApplianceHarness.RandomBytes(200_000, 21);
        h.Parent.Put("/v/good/720p/seg-1.m4s", body);
        h.Parent.Put("/v/good/integrity.json", Manifest("good", ("720p/seg-1.m4s", body)));
        using var client = new HttpClient { BaseAddress = h.BaseAddress };

        Assert.Equal(body, await client.GetByteArrayAsync("/v/good/720p/seg-1.m4s"));
        Assert.Equal(body, await client.GetByteArrayAsync("/v/good/720p/seg-1.m4s"));
        Assert.Equal(1, h.Parent.RequestsFor("/v/good/720p/seg-1.m4s"));
        Assert.Equal(1, h.Parent.RequestsFor("/v/good/integrity.json"));
        Assert.Equal(0, await h.MetricAsync("openconnect_appliance_integrity_failures_total"));
    }

    [Fact]
    public async Task TamperedBody_IsCutOff_CountedAndNeverCached()
    {
        await using var h = await ApplianceHarness.StartAsync();
        var published = ApplianceHarness.RandomBytes(200_000, 22);
        var tampered = (byte[])published.Clone();
        tampered[150_000] ^= 0xFF;
        h.Parent.Put("/v/bad/720p/seg-1.m4s", tampered);
        h.Parent.Put("/v/bad/integrity.json", Manifest("bad", ("720p/seg-1.m4s", published)));

        for (var attempt = 1; attempt <= 2; attempt++)
        {
            using var c = await h.ConnectAsync();
            await c.SendAsync("GET /v/bad/720p/seg-1.m4s HTTP/1.1\r\nHost: a\r\n\r\n");
            // The head promises 200000 bytes; the connection is cut before the last byte.
            await Assert.ThrowsAsync<EndOfStreamException>(() => c.ReadResponseAsync());
            Assert.Equal(attempt, h.Parent.RequestsFor("/v/bad/720p/seg-1.m4s"));
        }

        Assert.Equal(2, await h.MetricAsync("openconnect_appliance_integrity_failures_total"));
        Assert.Equal(0, await h.MetricAsync("openconnect_appliance_tier_objects", ("tier", "ram")));
    }

    [Fact]
    public async Task TitleWithoutManifest_IsAdmittedUnverified()
    {
        await using var h = await ApplianceHarness.StartAsync();
        var body = Encoding.ASCII.GetBytes("#EXTM3U\n");
        h.Parent.Put("/v/plain/master.m3u8", body);
        using var client = new HttpClient { BaseAddress = h.BaseAddress };
        Assert.Equal(body, await client.GetByteArrayAsync("/v/plain/master.m3u8"));
        Assert.Equal(body, await client.GetByteArrayAsync("/v/plain/master.m3u8"));
        Assert.Equal(1, h.Parent.RequestsFor("/v/plain/master.m3u8"));
        Assert.Equal(1, h.Parent.RequestsFor("/v/plain/integrity.json"));
    }

    [Fact]
    public async Task UnreadableManifest_RefusesAdmission()
    {
        await using var h = await ApplianceHarness.StartAsync();
        h.Parent.Put("/v/broken/720p/seg-1.m4s", ApplianceHarness.RandomBytes(1000, 23));
        h.Parent.Put("/v/broken/integrity.json", "{ not json"u8.ToArray());
        using var client = new HttpClient { BaseAddress = h.BaseAddress };
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetByteArrayAsync("/v/broken/720p/seg-1.m4s"));
        Assert.Equal(1, await h.MetricAsync("openconnect_appliance_integrity_failures_total"));
    }

    [Fact]
    public async Task WithTrustedKeys_OnlyManifestsSignedByTheOrigin_AdmitObjects()
    {
        await using var h = await ApplianceHarness.StartAsync($"--Appliance:Upstream:IntegrityKeys:0={OriginKey.PublicKey}");
        var body = ApplianceHarness.RandomBytes(50_000, 24);
        h.Parent.Put("/v/signed/720p/seg-1.m4s", body);
        h.Parent.Put("/v/signed/integrity.json", Manifest("signed", ("720p/seg-1.m4s", body)));
        h.Parent.Put("/v/forged/720p/seg-1.m4s", body);
        h.Parent.Put("/v/forged/integrity.json", Manifest(ForeignKey, "forged", ("720p/seg-1.m4s", body)));
        using var client = new HttpClient { BaseAddress = h.BaseAddress };

        Assert.Equal(body, await client.GetByteArrayAsync("/v/signed/720p/seg-1.m4s"));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetByteArrayAsync("/v/forged/720p/seg-1.m4s"));
        Assert.Equal(1, await h.MetricAsync("openconnect_appliance_integrity_failures_total"));
    }

    /// <summary>A parent replaying another title's (validly signed) manifest at this title's path cannot vouch for bodies.</summary>
    [Fact]
    public async Task AnotherTitlesManifest_ServedAtThisTitlesPath_AdmitsNothing()
    {
        await using var h = await ApplianceHarness.StartAsync($"--Appliance:Upstream:IntegrityKeys:0={OriginKey.PublicKey}");
        var body = ApplianceHarness.RandomBytes(50_000, 25);
        h.Parent.Put("/v/victim/720p/seg-1.m4s", body);
        h.Parent.Put("/v/victim/integrity.json", Manifest("other", ("720p/seg-1.m4s", body)));
        using var client = new HttpClient { BaseAddress = h.BaseAddress };

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetByteArrayAsync("/v/victim/720p/seg-1.m4s"));
        Assert.Equal(1, await h.MetricAsync("openconnect_appliance_integrity_failures_total"));
        Assert.Equal(0, await h.MetricAsync("openconnect_appliance_tier_objects", ("tier", "ram")));
    }

    [Fact]
    public async Task MalformedIntegrityKey_StopsTheApplianceWithTheKeyName()
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => ApplianceHarness.StartAsync("--Appliance:Upstream:IntegrityKeys:0=not-a-key"));
        Assert.Contains("Appliance:Upstream:IntegrityKeys:0", ex.Message);
    }
}
