using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Appliance.Caching;
using OpenConnect.Contracts.Security;
using OpenConnect.Testing;

namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>
/// HTTPS content goes through the segment server's request pipeline on the decrypted connection, like
/// plaintext: the same tiers, ranges, HEAD and keep-alive, the same token decisions, the same metrics,
/// access log and <c>Cache-Status</c>; bodies are copied into the TLS output pipe instead of sendfile.
/// </summary>
public sealed class HttpsPipelineTests
{
    private const string Segment = "/v/tls/720p/seg-1.m4s";
    private const string Filled = "/v/tls/720p/seg-2.m4s";
    private const string FilledToo = "/v/tls/720p/seg-3.m4s";

    [Fact]
    public async Task RamAndSsdHits_AndAMiss_AreServedOverTls_CountedAndLogged()
    {
        using var files = new TempDirectory("openconnect-https");
        var log = files.Combine("access.log");
        await using var h = await ApplianceHarness.StartAsync([.. HttpsSettings(files), $"--Appliance:AccessLog:Path={log}", "--Appliance:AccessLog:Format=json"]);
        Assert.Equal("https", h.BaseAddress.Scheme);
        var body = ApplianceHarness.RandomBytes(300_000, 81);
        h.Parent.Put(Segment, body);
        // Filled objects are written to the SSD tier only: the first request for each is an SSD hit.
        var filled = ApplianceHarness.RandomBytes(200_000, 82);
        var cache = h.Appliance.Services.GetRequiredService<SegmentCache>();
        foreach (var path in new[] { Filled, FilledToo })
        {
            var stored = await cache.StoreFilledAsync(KeyHash.Of(path), path, filled, SHA256.HashData(filled), "video/iso.segment", "\"f1\"", DateTimeOffset.UnixEpoch, CancellationToken.None);
            Assert.True(stored.Ok, stored.Error);
        }

        // One TLS connection, kept alive across every response: miss, RAM hit, HEAD, range, SSD hit, SSD range.
        using var tls = await RawHttp.ConnectTlsAsync(h.BaseAddress);
        var miss = await tls.GetAsync(Segment);
        Assert.Equal(200, miss.Status);
        Assert.Equal(body, miss.Body);
        Assert.Equal("OpenConnect; fwd=uri-miss; fwd-status=200; stored", miss["Cache-Status"]);
        await CacheStatusTests.RamAdmissionsAsync(h, 1);

        var ram = await tls.GetAsync(Segment);
        Assert.Equal(body, ram.Body);
        Assert.Equal("OpenConnect; hit; detail=ram", ram["Cache-Status"]);

        await tls.SendAsync($"HEAD {Segment} HTTP/1.1\r\nHost: localhost\r\n\r\n");
        var head = await tls.ReadResponseAsync(noBody: true);
        Assert.Equal(200, head.Status);
        Assert.Equal("300000", head["Content-Length"]);
        Assert.Equal("OpenConnect; hit; detail=ram", head["Cache-Status"]);

        await tls.SendAsync($"GET {Segment} HTTP/1.1\r\nHost: localhost\r\nRange: bytes=100000-170000\r\n\r\n");
        var ramRange = await tls.ReadResponseAsync();
        Assert.Equal(206, ramRange.Status);
        Assert.Equal("bytes 100000-170000/300000", ramRange["Content-Range"]);
        Assert.Equal(body.AsSpan(100_000, 70_001).ToArray(), ramRange.Body);

        var ssd = await tls.GetAsync(Filled);
        Assert.Equal(filled, ssd.Body);
        Assert.Equal("OpenConnect; hit; detail=ssd", ssd["Cache-Status"]);

        await tls.SendAsync($"GET {FilledToo} HTTP/1.1\r\nHost: localhost\r\nRange: bytes=-1000\r\n\r\n");
        var ssdRange = await tls.ReadResponseAsync();
        Assert.Equal(206, ssdRange.Status);
        Assert.Equal(filled.AsSpan(199_000).ToArray(), ssdRange.Body);
        Assert.Equal("OpenConnect; hit; detail=ssd", ssdRange["Cache-Status"]);

        Assert.Equal(1, h.Parent.RequestsFor(Segment));
        Assert.Equal(0, h.Parent.RequestsFor(Filled) + h.Parent.RequestsFor(FilledToo));

        // The same counters as plaintext requests.
        var metrics = await h.MetricsAsync();
        Assert.Equal(1, metrics.Value("openconnect_appliance_requests_total", ("tier", "miss")));
        Assert.Equal(3, metrics.Value("openconnect_appliance_requests_total", ("tier", "ram")));
        Assert.Equal(2, metrics.Value("openconnect_appliance_requests_total", ("tier", "ssd")));
        Assert.Equal(4, metrics.Value("openconnect_appliance_responses_total", ("code", "200")));
        Assert.Equal(2, metrics.Value("openconnect_appliance_responses_total", ("code", "206")));
        Assert.Equal(300_000 + 300_000 + 70_001, metrics.Value("openconnect_appliance_response_bytes_total", ("tier", "ram")) + metrics.Value("openconnect_appliance_response_bytes_total", ("tier", "miss")));

        var lines = await AccessLogTests.LinesAsync(log, 6);
        Assert.Equal(["miss", "ram", "ram", "ram", "ssd", "ssd"], lines.Select(l => l.GetProperty("cache").GetString()));
        Assert.Equal(["GET", "GET", "HEAD", "GET", "GET", "GET"], lines.Select(l => l.GetProperty("method").GetString()));
        Assert.Equal([200, 200, 200, 206, 200, 206], lines.Select(l => l.GetProperty("status").GetInt32()));
        Assert.Equal([300_000L, 300_000L, 0L, 70_001L, 200_000L, 1_000L], lines.Select(l => l.GetProperty("bytes").GetInt64()));
        Assert.All(lines, l => Assert.Equal("127.0.0.1", l.GetProperty("client").GetString()));
    }

    [Fact]
    public async Task AMissOverTls_IsCutThrough_BeforeTheParentHasSentTheWholeBody()
    {
        using var files = new TempDirectory("openconnect-https");
        await using var h = await ApplianceHarness.StartAsync(HttpsSettings(files));
        var body = ApplianceHarness.RandomBytes(4 * 64 * 1024, 83);
        h.Parent.Put(Segment, body);
        h.Parent.ChunkDelay = TimeSpan.FromMilliseconds(700);

        using var client = TlsClient(h.BaseAddress);
        using var response = await client.GetAsync(Segment, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var stream = await response.Content.ReadAsStreamAsync();
        var first = new byte[1024];
        await stream.ReadExactlyAsync(first);
        Assert.Equal(body.AsSpan(0, first.Length).ToArray(), first);

        // The parent is still sending (admission follows its last byte): the client got bytes before the fetch completed.
        Assert.Equal(0, await h.MetricAsync("openconnect_appliance_admissions_total", ("tier", "ram")));
        var rest = new MemoryStream();
        await stream.CopyToAsync(rest);
        Assert.Equal(body.AsSpan(first.Length).ToArray(), rest.ToArray());
    }

    [Fact]
    public async Task Tokens_AreCheckedTheSame_OverTlsAndPlaintext()
    {
        using var files = new TempDirectory("openconnect-https");
        var steering = Ed25519SigningKey.Generate();
        await using var h = await ApplianceHarness.StartAsync(
            [
                "--urls", "http://127.0.0.1:0;https://127.0.0.1:0",
                .. CertificateSettings(files),
                $"--Appliance:PlaybackKeys:0={steering.PublicKey}",
                // No unsigned access from loopback: every request below needs its token.
                "--Appliance:UnsignedNetworks:0=198.18.0.0/15",
            ]);
        var body = ApplianceHarness.RandomBytes(50_000, 84);
        h.Parent.Put(Segment, body);
        var good = UrlToken.SignedPath(UrlToken.Sign(steering, DateTimeOffset.UtcNow.AddMinutes(5), UrlToken.TitlePrefix("tls")), Segment);
        var forged = UrlToken.SignedPath(UrlToken.Sign(Ed25519SigningKey.Generate(), DateTimeOffset.UtcNow.AddMinutes(5), UrlToken.TitlePrefix("tls")), Segment);
        var otherTitle = UrlToken.SignedPath(UrlToken.Sign(steering, DateTimeOffset.UtcNow.AddMinutes(5), UrlToken.TitlePrefix("other")), Segment);

        // The data listeners: every bound address but the management listener's.
        var management = h.Appliance.ManagementAddress.GetLeftPart(UriPartial.Authority);
        var addresses = h.Appliance.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Where(a => a.TrimEnd('/') != management).ToList();
        var answers = new List<(int Status, string Body)>[2];
        foreach (var (i, address) in new[] { (0, addresses.Single(a => a.StartsWith("http://", StringComparison.Ordinal))), (1, addresses.Single(a => a.StartsWith("https://", StringComparison.Ordinal))) })
        {
            using var client = TlsClient(new Uri(address));
            answers[i] = [];
            foreach (var path in new[] { forged, otherTitle, Segment, "/s/not-a-token/v/tls/720p/seg-1.m4s" })
            {
                using var refused = await client.GetAsync(path);
                answers[i].Add(((int)refused.StatusCode, await refused.Content.ReadAsStringAsync()));
            }

            Assert.Equal(body, await client.GetByteArrayAsync(good));
        }

        Assert.All(answers[0], a => Assert.Equal(403, a.Status));
        Assert.Equal(answers[0], answers[1]);
        Assert.Contains(PlaybackAccess.Reason(TokenCheck.Missing), answers[1][2].Body, StringComparison.Ordinal);
        Assert.Equal(8, await h.MetricAsync("openconnect_appliance_responses_total", ("code", "403")));
    }

    [Fact]
    public async Task TheHttpsListener_OffersOnlyHttp11()
    {
        using var files = new TempDirectory("openconnect-https");
        await using var h = await ApplianceHarness.StartAsync(HttpsSettings(files));
        h.Parent.Put(Segment, ApplianceHarness.RandomBytes(10_000, 85));

        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(h.BaseAddress.Host, h.BaseAddress.Port);
        await using var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],
        });
        Assert.Equal(SslApplicationProtocol.Http11, tls.NegotiatedApplicationProtocol);

        // A client that asks for HTTP/2 but accepts less is served HTTP/1.1 by the segment server.
        using var client = TlsClient(h.BaseAddress);
        using var request = new HttpRequestMessage(HttpMethod.Get, Segment) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionOrLower };
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpVersion.Version11, response.Version);
        Assert.Equal("OpenConnect; fwd=uri-miss; fwd-status=200; stored", response.Headers.GetValues("Cache-Status").Single());
    }

    [Fact]
    public async Task AConnectionHandedToKestrel_IsClosedAfterItsAnswer_SoContentIsNeverServedThere()
    {
        using var files = new TempDirectory("openconnect-https");
        await using var h = await ApplianceHarness.StartAsync(HttpsSettings(files));
        h.Parent.Put(Segment, ApplianceHarness.RandomBytes(10_000, 86));

        using var tls = await RawHttp.ConnectTlsAsync(h.BaseAddress);
        var other = await tls.GetAsync("/favicon.ico");
        Assert.Equal(404, other.Status);
        Assert.Equal("close", other["Connection"]);
        Assert.True(await tls.IsClosedByServerAsync(TimeSpan.FromSeconds(10)));

        using var again = await RawHttp.ConnectTlsAsync(h.BaseAddress);
        var content = await again.GetAsync(Segment);
        Assert.Equal(200, content.Status);
        Assert.Equal(1, await h.MetricAsync("openconnect_appliance_requests_total", ("tier", "miss")));
    }

    [Fact]
    public async Task ATlsClientReadingSlowerThanTheMinimumRate_IsCutOff()
    {
        using var files = new TempDirectory("openconnect-https");
        await using var h = await ApplianceHarness.StartAsync(
            [
                .. HttpsSettings(files),
                "--Appliance:Limits:MinResponseBytesPerSecond=10000000",
                "--Appliance:Limits:MinResponseRateGrace=00:00:01",
                "--Appliance:Limits:SendBufferBytes=65536",
            ]);
        var body = ApplianceHarness.RandomBytes(16_000_000, 87);
        h.Parent.Put(Segment, body);

        using var tcp = new System.Net.Sockets.TcpClient { ReceiveBufferSize = 8192 };
        await tcp.ConnectAsync(h.BaseAddress.Host, h.BaseAddress.Port);
        await using var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" });
        await tls.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"GET {Segment} HTTP/1.1\r\nHost: a\r\n\r\n"));

        // Read nothing for longer than grace + 16 MB at 10 MB/s allows: the pipe's flush outlives the deadline.
        await Task.Delay(TimeSpan.FromSeconds(5));
        await LimitsTests.AssertCutOffAsync(tls, body.Length);
    }

    /// <summary>An HTTPS data listener on an ephemeral port with a fresh self-signed certificate.</summary>
    internal static string[] HttpsSettings(TempDirectory files) => ["--urls", "https://127.0.0.1:0", .. CertificateSettings(files)];

    /// <summary>The content certificate settings (Kestrel's names) for a self-signed certificate for 127.0.0.1 written under <paramref name="files"/>.</summary>
    internal static string[] CertificateSettings(TempDirectory files)
    {
        var pfx = files.Combine("appliance.pfx");
        using (var key = RSA.Create(2048))
        {
            var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
            File.WriteAllBytes(pfx, certificate.Export(X509ContentType.Pfx, "test"));
        }

        return [$"--Kestrel:Certificates:Default:Path={pfx}", "--Kestrel:Certificates:Default:Password=test"];
    }

    /// <summary>A client that accepts the test certificate.</summary>
    internal static HttpClient TlsClient(Uri baseAddress) =>
        new(new SocketsHttpHandler { SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true } })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };
}
