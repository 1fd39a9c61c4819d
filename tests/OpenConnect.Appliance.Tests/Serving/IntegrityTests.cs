using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using OpenConnect.Contracts.Content;
using OpenConnect.Contracts.Security;
using OpenConnect.Testing;

namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>
/// Integrity fails closed: with the origin's key configured, an object is served and cached only when
/// its title's manifest is signed by that key and lists the object with the body's size and SHA-256;
/// everything else is a 502 naming the reason, counted, and never stored.
/// </summary>
public class IntegrityTests : TransportTests
{
    private static readonly Ed25519SigningKey OriginKey = Ed25519SigningKey.FromSeed(Enumerable.Range(7, 32).Select(i => (byte)i).ToArray());
    private static readonly Ed25519SigningKey ForeignKey = Ed25519SigningKey.FromSeed(Enumerable.Range(9, 32).Select(i => (byte)i).ToArray());

    /// <summary>The production setting: the origin's key, and unsigned content not allowed (overriding the harness's test default).</summary>
    private static readonly string[] Signed = [$"--Appliance:Upstream:IntegrityKeys:0={OriginKey.PublicKey}", "--Appliance:Upstream:AllowUnsignedContent=false"];

    private static IntegrityManifest Manifest(Ed25519SigningKey key, string title, params (string Relative, byte[] Body)[] files) =>
        IntegrityManifest.Create(title, files.ToDictionary(f => f.Relative, f => new IntegrityEntry(f.Body.Length, Convert.ToHexStringLower(SHA256.HashData(f.Body)))), key);

    private static byte[] Signed1(string title, params (string Relative, byte[] Body)[] files) => Manifest(OriginKey, title, files).ToJsonBytes();

    [Fact]
    public async Task WithoutIntegrityKeys_TheApplianceExitsWithCode2_NamingTheSettingAndTheTestOnlyEscape()
    {
        using var state = new TempDirectory("openconnect-integrity");
        var result = await ExternalProcess.RunAsync(
            "dotnet",
            [typeof(ApplianceHost).Assembly.Location, "--urls", "http://127.0.0.1:0", $"--Appliance:Cache:Directory={state.Path}", "--Appliance:ControlUrl=https://127.0.0.1:0"],
            TimeSpan.FromSeconds(60));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Appliance:Upstream:IntegrityKeys", result.StandardError);
        Assert.Contains("Appliance:Upstream:AllowUnsignedContent=true", result.StandardError);
        Assert.DoesNotContain("   at ", result.StandardOutput + result.StandardError);
    }

    [Fact]
    public async Task AllowUnsignedContent_StartsWithoutKeys_AndWarnsAtStart()
    {
        using var state = new TempDirectory("openconnect-integrity");
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { typeof(ApplianceHost).Assembly.Location, "--urls", "http://127.0.0.1:0", $"--Appliance:Cache:Directory={state.Path}", "--Appliance:ControlUrl=https://127.0.0.1:0", ApplianceHarness.AllowUnsignedContent })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            string? warning = null;
            while (warning is null && await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                warning = line.Contains("AllowUnsignedContent=true (test-only)", StringComparison.Ordinal) ? line : null;
            }

            Assert.NotNull(warning);
            Assert.Contains("warn", warning);
            Assert.False(process.HasExited);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task AllowUnsignedContent_ServesATitleWithoutManifest()
    {
        await using var h = await StartAsync();
        var body = Encoding.ASCII.GetBytes("#EXTM3U\n");
        h.Parent.Put("/v/plain/master.m3u8", body);
        using var client = new HttpClient { BaseAddress = h.BaseAddress };
        Assert.Equal(body, await client.GetByteArrayAsync("/v/plain/master.m3u8"));
        Assert.Equal(body, await client.GetByteArrayAsync("/v/plain/master.m3u8"));
        Assert.Equal(1, h.Parent.RequestsFor("/v/plain/master.m3u8"));
    }

    [Fact]
    public async Task SignedManifest_MatchingBody_IsServedAndCached()
    {
        await using var h = await StartAsync(Signed);
        var body = ApplianceHarness.RandomBytes(200_000, 21);
        h.Parent.Put("/v/good/720p/seg-1.m4s", body);
        h.Parent.Put("/v/good/integrity.json", Signed1("good", ("720p/seg-1.m4s", body)));
        using var client = new HttpClient { BaseAddress = h.BaseAddress };

        Assert.Equal(body, await client.GetByteArrayAsync("/v/good/720p/seg-1.m4s"));
        Assert.Equal(body, await client.GetByteArrayAsync("/v/good/720p/seg-1.m4s"));
        Assert.Equal(1, h.Parent.RequestsFor("/v/good/720p/seg-1.m4s"));
        Assert.Equal(1, h.Parent.RequestsFor("/v/good/integrity.json"));
        Assert.Equal(0, await AllRefusalsAsync(h));
        // The manifest itself is served too, checked like everything else.
        var manifest = IntegrityManifest.Parse(await client.GetByteArrayAsync("/v/good/integrity.json"));
        Assert.True(manifest.IsSignedBy(PublicKeyRing.Parse([OriginKey.PublicKey.ToString()])));
    }

    public static TheoryData<string, string> BadManifests => new()
    {
        { "missing", "manifest_missing" },
        { "unsigned", "unsigned" },
        { "unknown-key", "unknown_key" },
        { "bad-signature", "bad_signature" },
        { "not-json", "manifest_invalid" },
        { "wrong-roots", "manifest_invalid" },
        { "other-title", "manifest_invalid" },
    };

    [Theory]
    [MemberData(nameof(BadManifests))]
    public async Task ATitleWhoseManifestIsNotValidlySigned_Gets502WithTheReason_CountedAndNothingCached(string kind, string reason)
    {
        await using var h = await StartAsync(Signed);
        var body = ApplianceHarness.RandomBytes(50_000, 24);
        var good = Manifest(OriginKey, "t1", ("720p/seg-1.m4s", body));
        byte[]? served = kind switch
        {
            "missing" => null,
            "unsigned" => (good with { Signature = null, KeyId = null }).ToJsonBytes(),
            "unknown-key" => Manifest(ForeignKey, "t1", ("720p/seg-1.m4s", body)).ToJsonBytes(),
            "bad-signature" => (good with { Signature = Convert.ToBase64String(Flip(Convert.FromBase64String(good.Signature!), 5)) }).ToJsonBytes(),
            "not-json" => "{ not json"u8.ToArray(),
            "wrong-roots" => (good with { Renditions = new Dictionary<string, string> { ["720p"] = new string('0', 64) } }).ToJsonBytes(),
            "other-title" => Manifest(OriginKey, "other", ("720p/seg-1.m4s", body)).ToJsonBytes(),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        h.Parent.Put("/v/t1/720p/seg-1.m4s", body);
        if (served is not null)
        {
            h.Parent.Put("/v/t1/integrity.json", served);
        }

        using var client = new HttpClient { BaseAddress = h.BaseAddress };
        for (var attempt = 0; attempt < 2; attempt++)
        {
            using var response = await client.GetAsync("/v/t1/720p/seg-1.m4s");
            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
            Assert.Contains($"integrity check: {reason}", await response.Content.ReadAsStringAsync());
        }

        // Each refused request is counted; the manifest is fetched once and its verdict remembered.
        Assert.Equal(2, await RefusalsAsync(h, reason));
        Assert.Equal(1, h.Parent.RequestsFor("/v/t1/integrity.json"));
        await AssertNothingCachedAsync(h);
        if (served is not null)
        {
            // The bad manifest is not served onwards either (to a peer or a player).
            using var response = await client.GetAsync("/v/t1/integrity.json");
            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        }
    }

    [Fact]
    public async Task AFileTheManifestDoesNotList_Gets502_AndIsNotCached()
    {
        await using var h = await StartAsync(Signed);
        var listed = ApplianceHarness.RandomBytes(10_000, 25);
        h.Parent.Put("/v/t1/720p/seg-1.m4s", listed);
        h.Parent.Put("/v/t1/720p/extra.m4s", ApplianceHarness.RandomBytes(10_000, 26));
        h.Parent.Put("/v/t1/integrity.json", Signed1("t1", ("720p/seg-1.m4s", listed)));
        using var client = new HttpClient { BaseAddress = h.BaseAddress };

        using var response = await client.GetAsync("/v/t1/720p/extra.m4s");
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("integrity check: unlisted", await response.Content.ReadAsStringAsync());
        Assert.Equal(1, await RefusalsAsync(h, "unlisted"));
        await AssertNothingCachedAsync(h);
        Assert.Equal(listed, await client.GetByteArrayAsync("/v/t1/720p/seg-1.m4s"));
    }

    [Fact]
    public async Task ABodyOfAnotherSize_Gets502BeforeAnyByte()
    {
        await using var h = await StartAsync(Signed);
        var published = ApplianceHarness.RandomBytes(30_000, 27);
        h.Parent.Put("/v/t1/720p/seg-1.m4s", published[..29_000]);
        h.Parent.Put("/v/t1/integrity.json", Signed1("t1", ("720p/seg-1.m4s", published)));
        using var client = new HttpClient { BaseAddress = h.BaseAddress };

        using var response = await client.GetAsync("/v/t1/720p/seg-1.m4s");
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("integrity check: size_mismatch", await response.Content.ReadAsStringAsync());
        Assert.Equal(1, await RefusalsAsync(h, "size_mismatch"));
        await AssertNothingCachedAsync(h);
    }

    /// <summary>
    /// Same size, different bytes: the first client (cut-through) is cut off before the last byte; the
    /// object is then fetched store-and-forward, so the next client gets a clean 502; once the parent
    /// serves the right bytes they are served and cached.
    /// </summary>
    [Fact]
    public async Task TamperedBytes_FirstClientIsCutOff_TheNextGets502_NothingCached_UntilTheParentIsRight()
    {
        await using var h = await StartAsync(Signed);
        var published = ApplianceHarness.RandomBytes(200_000, 22);
        h.Parent.Put("/v/bad/720p/seg-1.m4s", Flip(published, 150_000));
        h.Parent.Put("/v/bad/integrity.json", Signed1("bad", ("720p/seg-1.m4s", published)));

        using (var c = await h.ConnectAsync())
        {
            await c.SendAsync("GET /v/bad/720p/seg-1.m4s HTTP/1.1\r\nHost: a\r\n\r\n");
            // The head promises 200000 bytes; the connection is cut before the last byte.
            await Assert.ThrowsAsync<EndOfStreamException>(() => c.ReadResponseAsync());
        }

        using var client = new HttpClient { BaseAddress = h.BaseAddress };
        using (var response = await client.GetAsync("/v/bad/720p/seg-1.m4s"))
        {
            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
            Assert.Contains("integrity check: hash_mismatch", await response.Content.ReadAsStringAsync());
        }

        Assert.Equal(2, h.Parent.RequestsFor("/v/bad/720p/seg-1.m4s"));
        Assert.Equal(2, await RefusalsAsync(h, "hash_mismatch"));
        await AssertNothingCachedAsync(h);

        h.Parent.Put("/v/bad/720p/seg-1.m4s", published);
        Assert.Equal(published, await client.GetByteArrayAsync("/v/bad/720p/seg-1.m4s"));
        Assert.Equal(published, await client.GetByteArrayAsync("/v/bad/720p/seg-1.m4s"));
        Assert.Equal(3, h.Parent.RequestsFor("/v/bad/720p/seg-1.m4s"));
    }

    [Fact]
    public async Task APeerServingTamperedBytes_IsRefused_AndTheOriginsCopyIsServed()
    {
        await using var peer = await TestParent.StartAsync();
        await using var h = await StartWithParentsAsync([peer.BaseAddress.ToString()], Signed);
        var published = ApplianceHarness.RandomBytes(120_000, 28);
        var manifest = Signed1("t1", ("720p/seg-1.m4s", published));
        h.Parent.Put("/v/t1/720p/seg-1.m4s", published);
        h.Parent.Put("/v/t1/integrity.json", manifest);
        peer.Put("/v/t1/720p/seg-1.m4s", Flip(published, 60_000));
        // The peer also replays a manifest of its own making: it must not hide the origin's.
        peer.Put("/v/t1/integrity.json", Manifest(ForeignKey, "t1", ("720p/seg-1.m4s", Flip(published, 60_000))).ToJsonBytes());

        using (var c = await h.ConnectAsync())
        {
            await c.SendAsync("GET /v/t1/720p/seg-1.m4s HTTP/1.1\r\nHost: a\r\n\r\n");
            await Assert.ThrowsAsync<EndOfStreamException>(() => c.ReadResponseAsync());
        }

        using var client = new HttpClient { BaseAddress = h.BaseAddress };
        Assert.Equal(published, await client.GetByteArrayAsync("/v/t1/720p/seg-1.m4s"));
        Assert.Equal(published, await client.GetByteArrayAsync("/v/t1/720p/seg-1.m4s"));
        Assert.Equal(2, peer.RequestsFor("/v/t1/720p/seg-1.m4s"));
        Assert.Equal(1, h.Parent.RequestsFor("/v/t1/720p/seg-1.m4s"));
        Assert.Equal(2, await RefusalsAsync(h, "hash_mismatch"));
        Assert.Equal(0, await RefusalsAsync(h, "unknown_key"));
    }

    /// <summary>A failed manifest fetch is a short refusal, not a remembered "no manifest": the title is served once the parent is back.</summary>
    [Fact]
    public async Task AManifestFetchThatFails_RefusesOnlyBriefly()
    {
        await using var h = await StartAsync(Signed);
        var body = ApplianceHarness.RandomBytes(20_000, 29);
        h.Parent.Put("/v/t1/720p/seg-1.m4s", body);
        h.Parent.Put("/v/t1/integrity.json", Signed1("t1", ("720p/seg-1.m4s", body)));
        var manifestFails = true;
        h.Parent.BeforeResponse = path => manifestFails && path.EndsWith(IntegrityManifest.FileName, StringComparison.Ordinal)
            ? throw new InvalidOperationException("the parent's manifest store is down")
            : Task.CompletedTask;
        using var client = new HttpClient { BaseAddress = h.BaseAddress };

        using (var response = await client.GetAsync("/v/t1/720p/seg-1.m4s"))
        {
            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
            Assert.Contains("integrity check: manifest_unavailable", await response.Content.ReadAsStringAsync());
        }

        manifestFails = false;
        await Task.Delay(OpenConnect.Appliance.Upstream.IntegrityCatalog.UnavailableTtl + TimeSpan.FromMilliseconds(200));
        Assert.Equal(body, await client.GetByteArrayAsync("/v/t1/720p/seg-1.m4s"));
        Assert.Equal(1, await RefusalsAsync(h, "manifest_unavailable"));
    }

    [Fact]
    public async Task MalformedIntegrityKey_StopsTheApplianceWithTheKeyName()
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => StartAsync("--Appliance:Upstream:IntegrityKeys:0=not-a-key"));
        Assert.Contains("Appliance:Upstream:IntegrityKeys:0", ex.Message);
    }

    private static byte[] Flip(byte[] bytes, int at)
    {
        var copy = (byte[])bytes.Clone();
        copy[at] ^= 0xFF;
        return copy;
    }

    private static Task<double> RefusalsAsync(ApplianceHarness h, string reason) =>
        h.MetricAsync("openconnect_appliance_integrity_refusals_total", ("reason", reason), ("via", "pull"));

    private static async Task<double> AllRefusalsAsync(ApplianceHarness h)
    {
        var metrics = await h.MetricsAsync();
        return metrics.Families.Values.SelectMany(f => f.Samples).Where(s => s.Name == "openconnect_appliance_integrity_refusals_total").Sum(s => s.Value);
    }

    private static async Task AssertNothingCachedAsync(ApplianceHarness h)
    {
        foreach (var tier in new[] { "ram", "ssd" })
        {
            Assert.Equal(0, await h.MetricAsync("openconnect_appliance_tier_objects", ("tier", tier)));
            Assert.Equal(0, await h.MetricAsync("openconnect_appliance_admissions_total", ("tier", tier)));
        }
    }
}
