using System.Net;
using System.Security.Cryptography.X509Certificates;
using OpenConnect.Appliance.Tests.Serving;
using OpenConnect.Contracts.Security;
using OpenConnect.Testing;

namespace OpenConnect.Appliance.Tests.Control;

/// <summary>Players' requests carry steering's token in the path; the appliance holds only the public key.</summary>
public sealed class PlaybackTokenTests
{
    private static readonly Ed25519SigningKey Steering = Ed25519SigningKey.Generate();
    private static readonly Ed25519SigningKey Stranger = Ed25519SigningKey.Generate();

    /// <summary>Overrides the harness's loopback allowance with a network the tests never come from.</summary>
    private static readonly string[] Secure =
    [
        $"--Appliance:PlaybackKeys:0={Steering.PublicKey}",
        "--Appliance:UnsignedNetworks:0=192.0.2.0/24",
    ];

    public static TheoryData<string, string> Refusals => new()
    {
        { "missing", "playback token missing" },
        { "expired", "playback token expired" },
        { "tampered", "tampered" },
        { "wrong-key", "unknown key" },
        { "wrong-path", "does not cover this path" },
        { "wrong-client", "another client network" },
        { "malformed", "malformed" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task SegmentServer_Refuses_BadTokens_With403AndReason(string kind, string reason)
    {
        await using var harness = await ApplianceHarness.StartAsync(Secure);
        harness.Parent.Put("/v/t1/720p/seg-1.m4s", ApplianceHarness.RandomBytes(5000, 1));
        using var client = new HttpClient { BaseAddress = harness.BaseAddress };

        var response = await client.GetAsync(PathFor(kind, "/v/t1/720p/seg-1.m4s"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains(reason, await response.Content.ReadAsStringAsync());
        Assert.Equal(0, harness.Parent.TotalRequests);
    }

    [Fact]
    public async Task SegmentServer_Serves_GoodTokens_TheRightBytes_AndKeepsCheckingOnOneConnection()
    {
        await using var harness = await ApplianceHarness.StartAsync(Secure);
        var first = ApplianceHarness.RandomBytes(70_000, 2);
        var second = ApplianceHarness.RandomBytes(90_000, 3);
        harness.Parent.Put("/v/t1/720p/seg-1.m4s", first);
        harness.Parent.Put("/v/t1/720p/seg-2.m4s", second);
        harness.Parent.Put("/v/t2/720p/seg-1.m4s", second);
        var token = UrlToken.Sign(Steering, DateTimeOffset.UtcNow.AddMinutes(5), UrlToken.TitlePrefix("t1"));

        // One keep-alive connection: a grant verified once must still not leak to another title.
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { BaseAddress = harness.BaseAddress };
        Assert.Equal(first, await client.GetByteArrayAsync(UrlToken.SignedPath(token, "/v/t1/720p/seg-1.m4s")));
        Assert.Equal(second, await client.GetByteArrayAsync(UrlToken.SignedPath(token, "/v/t1/720p/seg-2.m4s")));
        Assert.Equal(first, await client.GetByteArrayAsync(UrlToken.SignedPath(token, "/v/t1/720p/seg-1.m4s")));
        var otherTitle = await client.GetAsync(UrlToken.SignedPath(token, "/v/t2/720p/seg-1.m4s"));
        Assert.Equal(HttpStatusCode.Forbidden, otherTitle.StatusCode);
        var unsigned = await client.GetAsync("/v/t1/720p/seg-1.m4s");
        Assert.Equal(HttpStatusCode.Forbidden, unsigned.StatusCode);
        Assert.Equal(0, harness.Parent.RequestsFor("/v/t2/720p/seg-1.m4s"));
    }

    [Fact]
    public async Task UnsignedPaths_AreServed_ToTrustedNetworks()
    {
        await using var harness = await ApplianceHarness.StartAsync($"--Appliance:PlaybackKeys:0={Steering.PublicKey}");
        var body = ApplianceHarness.RandomBytes(10_000, 4);
        harness.Parent.Put("/v/t1/720p/seg-1.m4s", body);
        using var client = new HttpClient { BaseAddress = harness.BaseAddress };
        Assert.Equal(body, await client.GetByteArrayAsync("/v/t1/720p/seg-1.m4s"));
    }

    [Theory]
    [InlineData("good")]
    [InlineData("missing")]
    [InlineData("expired")]
    [InlineData("tampered")]
    [InlineData("wrong-key")]
    [InlineData("wrong-path")]
    public async Task TlsPath_EnforcesTokensToo(string kind)
    {
        using var state = new TempDirectory("openconnect-tls-token");
        var pfx = state.Combine("cert.pfx");
        using (var rsa = System.Security.Cryptography.RSA.Create(2048))
        {
            var request = new CertificateRequest("CN=127.0.0.1", rsa, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
            await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pfx, "test"));
        }

        await using var parent = await TestParent.StartAsync();
        var body = ApplianceHarness.RandomBytes(50_000, 5);
        parent.Put("/v/t1/720p/seg-1.m4s", body);
        await using var appliance = await RunningRole.StartAsync(
            ApplianceHost.Build,
            [
                "--urls", "https://127.0.0.1:0",
                $"--Kestrel:Certificates:Default:Path={pfx}",
                "--Kestrel:Certificates:Default:Password=test",
                $"--Appliance:Cache:Directory={state.Combine("cache")}",
                "--Appliance:ControlUrl=https://127.0.0.1:0",
                Serving.ApplianceHarness.AllowUnsignedContent,
                $"--Appliance:Parents:0={parent.BaseAddress}",
                .. Secure,
            ]);
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true };
        using var client = new HttpClient(handler) { BaseAddress = appliance.BaseAddress };

        var response = await client.GetAsync(PathFor(kind, "/v/t1/720p/seg-1.m4s"));

        if (kind == "good")
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(body, await response.Content.ReadAsByteArrayAsync());
        }
        else
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.StartsWith("playback token", await response.Content.ReadAsStringAsync());
            Assert.Equal(0, parent.TotalRequests);
        }
    }

    /// <summary>The request path for a kind of token, for content path <paramref name="path"/> of title t1.</summary>
    private static string PathFor(string kind, string path)
    {
        var later = DateTimeOffset.UtcNow.AddMinutes(5);
        var title = UrlToken.TitlePrefix("t1");
        var good = UrlToken.Sign(Steering, later, title);
        switch (kind)
        {
            case "good":
                return UrlToken.SignedPath(good, path);
            case "missing":
                return path;
            case "expired":
                return UrlToken.SignedPath(UrlToken.Sign(Steering, DateTimeOffset.UtcNow.AddSeconds(-5), title), path);
            case "tampered":
                // The payload of a grant for another title under the good token's signature.
                var other = UrlToken.Sign(Steering, later, UrlToken.TitlePrefix("t9"));
                return UrlToken.SignedPath(other[..other.IndexOf('.')] + good[good.IndexOf('.')..], path);
            case "wrong-key":
                return UrlToken.SignedPath(UrlToken.Sign(Stranger, later, title), path);
            case "wrong-path":
                return UrlToken.SignedPath(UrlToken.Sign(Steering, later, UrlToken.TitlePrefix("t2")), path);
            case "wrong-client":
                return UrlToken.SignedPath(UrlToken.Sign(Steering, later, title, "198.51.100.0/24"), path);
            case "malformed":
                return UrlToken.SignedPath("not-a-token", path);
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }
}
