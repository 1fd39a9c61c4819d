using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenConnect.Appliance.Tests.Serving;
using OpenConnect.Contracts.Security;
using OpenConnect.Hosting;
using OpenConnect.Testing;

namespace OpenConnect.Appliance.Tests.Upstream;

/// <summary>
/// Parent pulls over fleet TLS, with real sockets and real handshakes: an appliance pulls from an
/// <c>https://</c> peer's parent listener with its fleet certificate; the listener admits appliances'
/// fleet certificates only; an appliance refuses a parent that is not the origin or an appliance of
/// its fleet and moves on to the next one.
/// </summary>
public sealed class ParentTlsTests : IDisposable
{
    private const string Segment = "/v/fleet/720p/seg-1.m4s";
    private const string Site = "site-a";

    private readonly TempDirectory _state = new("openconnect-parent-tls");
    private readonly FleetCertificates _fleet;
    private readonly FleetCertificates _foreign;
    private readonly byte[] _body = ApplianceHarness.RandomBytes(150_000, 14);

    public ParentTlsTests()
    {
        _fleet = FleetCertificates.Create(_state.Combine("fleet"));
        _foreign = FleetCertificates.Create(_state.Combine("foreign"));
    }

    [Fact]
    public async Task Appliance_PullsFromAPeersParentListener_WithItsFleetCertificate_AndThePeerNeedsNoUnsignedNetworks()
    {
        await using var origin = await TestParent.StartAsync();
        origin.Put(Segment, _body);
        await using var peer = await StartApplianceAsync("b1", [origin.BaseAddress.ToString()], "--Appliance:Upstream:ParentListenerUrl=https://127.0.0.1:0");
        await using var edge = await StartApplianceAsync("a1", [ParentAddress(peer).ToString()], ApplianceHarness.UnsignedLoopback);

        Assert.Equal("https", ParentAddress(peer).Scheme);
        using var client = edge.CreateClient();
        using (var miss = await client.GetAsync(Segment))
        {
            Assert.Equal(HttpStatusCode.OK, miss.StatusCode);
            Assert.Equal(_body, await miss.Content.ReadAsByteArrayAsync());
        }

        Assert.Equal(1, origin.RequestsFor(Segment));
        Assert.Equal(1, await UpstreamFetchesAsync(edge, ParentAddress(peer)));
        Assert.Equal(0, await UpstreamFailuresAsync(edge, ParentAddress(peer)));

        // The peer has no Appliance:UnsignedNetworks: its data listener refuses the same unsigned pull.
        using var direct = peer.CreateClient();
        using var refused = await direct.GetAsync(Segment);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("playback token missing", await refused.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ParentListenerRequests_AreInThePeersAccessLog_WithTheCallersFleetIdentity()
    {
        await using var origin = await TestParent.StartAsync();
        origin.Put(Segment, _body);
        var file = _state.Combine("b1-access.log");
        await using var peer = await StartApplianceAsync("b1", [origin.BaseAddress.ToString()], "--Appliance:Upstream:ParentListenerUrl=https://127.0.0.1:0", $"--Appliance:AccessLog:Path={file}", "--Appliance:AccessLog:Format=json");
        using var a1 = _fleet.Issue("openconnect://appliance/site-a/a1");
        using var client = Client(ParentAddress(peer), a1);
        Assert.Equal(_body, await client.GetByteArrayAsync(Segment));
        // A player's signed path sent here is answered 404 by the listener, and its token is not logged.
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/s/secret-token/v/fleet/720p/seg-1.m4s")).StatusCode);

        var lines = await AccessLogTests.LinesAsync(file, 2);
        Assert.Equal(2, lines.Count);
        static (string?, string?, int, long, string?, string?) Fields(System.Text.Json.JsonElement l) =>
            (l.GetProperty("method").GetString(), l.GetProperty("path").GetString(), l.GetProperty("status").GetInt32(), l.GetProperty("bytes").GetInt64(), l.GetProperty("cache").GetString(), l.GetProperty("caller").GetString());
        Assert.Equal(("GET", Segment, 200, _body.Length, "miss", "openconnect://appliance/site-a/a1"), Fields(lines[0]));
        Assert.Equal(("GET", "-", 404, 0L, "-", "openconnect://appliance/site-a/a1"), Fields(lines[1]));
        Assert.All(lines, l => Assert.Equal("127.0.0.1", l.GetProperty("client").GetString()));
        Assert.DoesNotContain("secret-token", await File.ReadAllTextAsync(file));
    }

    [Fact]
    public async Task ParentListener_ServesUnsignedPulls_OnlyToAppliancesFleetCertificates()
    {
        await using var origin = await TestParent.StartAsync();
        origin.Put(Segment, _body);
        await using var peer = await StartApplianceAsync("b1", [origin.BaseAddress.ToString()], "--Appliance:Upstream:ParentListenerUrl=https://127.0.0.1:0");
        var listener = ParentAddress(peer);

        using (var appliance = _fleet.Issue($"openconnect://appliance/{Site}/a9"))
        using (var client = Client(listener, appliance))
        {
            using var pulled = await client.GetAsync(Segment);
            Assert.Equal(HttpStatusCode.OK, pulled.StatusCode);
            Assert.Equal(_body, await pulled.Content.ReadAsByteArrayAsync());
            Assert.Equal(HttpVersion.Version11, pulled.Version);

            // Served by the segment server on the decrypted connection, like the data listener: Cache-Status, metrics.
            Assert.Equal("OpenConnect; fwd=uri-miss; fwd-status=200; stored", pulled.Headers.GetValues("Cache-Status").Single());
            Assert.Equal(1, (await peer.MetricsAsync()).Value("openconnect_appliance_requests_total", ("tier", "miss")));

            // Players use the data listener: signed paths, management and anything else are not here.
            var token = UrlToken.Sign(Ed25519SigningKey.Generate(), DateTimeOffset.UtcNow.AddMinutes(5), UrlToken.TitlePrefix("fleet"));
            foreach (var path in new[] { UrlToken.SignedPath(token, Segment), "/healthz", "/metrics", "/drain" })
            {
                using var response = await client.GetAsync(path);
                Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{path}: {response.StatusCode}");
            }
        }

        var refusedCertificates = new (string What, X509Certificate2? Certificate)[]
        {
            ("no certificate", null),
            ("another CA's appliance", _foreign.Issue($"openconnect://appliance/{Site}/a9")),
            ("expired appliance", _fleet.Issue($"openconnect://appliance/{Site}/a9", notBefore: DateTimeOffset.UtcNow.AddDays(-10), lifetime: TimeSpan.FromDays(1))),
            ("not yet valid appliance", _fleet.Issue($"openconnect://appliance/{Site}/a9", notBefore: DateTimeOffset.UtcNow.AddDays(1))),
            ("fill controller", _fleet.Issue("openconnect://fill-controller")),
            ("operator", _fleet.Issue("openconnect://operator/alice")),
        };
        foreach (var (what, certificate) in refusedCertificates)
        {
            using (certificate)
            using (var client = Client(listener, certificate))
            {
                HttpStatusCode? answered = null;
                try
                {
                    using var response = await client.GetAsync("/v/fleet/720p/seg-2.m4s");
                    answered = response.StatusCode;
                }
                catch (HttpRequestException)
                {
                }

                Assert.True(answered is null, $"{what}: the parent listener answered {answered}");
            }
        }

        // A player-looking request without a certificate gets no TLS session at all.
        using (var player = Client(listener, null))
        {
            var token = UrlToken.Sign(Ed25519SigningKey.Generate(), DateTimeOffset.UtcNow.AddMinutes(5), UrlToken.TitlePrefix("fleet"));
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => player.GetAsync(UrlToken.SignedPath(token, Segment)));
        }

        Assert.Equal(0, origin.RequestsFor("/v/fleet/720p/seg-2.m4s"));
        Assert.Equal(1, origin.RequestsFor(Segment));
    }

    [Fact]
    public async Task Appliance_RefusesParents_WithTheWrongIdentityOrAnotherCa_AndFailsOverToTheNext()
    {
        await using var origin = await TestParent.StartAsync();
        origin.Put(Segment, _body);
        using var steeringCertificate = _fleet.Issue("openconnect://steering", server: true);
        using var foreignOrigin = _foreign.Issue("openconnect://origin", server: true);
        await using var wrongIdentity = await TlsStub.StartAsync(steeringCertificate, _body);
        await using var otherCa = await TlsStub.StartAsync(foreignOrigin, _body);
        await using var edge = await StartApplianceAsync("a1", [wrongIdentity.BaseAddress.ToString(), otherCa.BaseAddress.ToString(), origin.BaseAddress.ToString()], ApplianceHarness.UnsignedLoopback);

        using var client = edge.CreateClient();
        using var response = await client.GetAsync(Segment);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(_body, await response.Content.ReadAsByteArrayAsync());

        // Neither impostor got a request: the handshake failed on the appliance's check of its certificate.
        Assert.Equal(0, wrongIdentity.Requests);
        Assert.Equal(0, otherCa.Requests);
        Assert.Equal(1, origin.RequestsFor(Segment));
        Assert.Equal(1, await UpstreamFailuresAsync(edge, wrongIdentity.BaseAddress));
        Assert.Equal(1, await UpstreamFailuresAsync(edge, otherCa.BaseAddress));
        Assert.Equal(0, await UpstreamFailuresAsync(edge, origin.BaseAddress));
    }

    [Fact]
    public async Task Appliance_AcceptsAnHttpsOriginParent_NamingOpenconnectOrigin()
    {
        using var originCertificate = _fleet.Issue("openconnect://origin", server: true);
        await using var origin = await TlsStub.StartAsync(originCertificate, _body);
        await using var edge = await StartApplianceAsync("a1", [origin.BaseAddress.ToString()], ApplianceHarness.UnsignedLoopback);

        using var client = edge.CreateClient();
        using var response = await client.GetAsync(Segment);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(_body, await response.Content.ReadAsByteArrayAsync());
        Assert.True(origin.Requests >= 1);

        // The appliance presented its own fleet certificate.
        Assert.Equal($"openconnect://appliance/{Site}/a1", origin.LastClientIdentity);
    }

    [Theory]
    [InlineData("--Appliance:Parents:0=https://127.0.0.1:9", "Appliance:Parents:0")]
    [InlineData("--Appliance:Upstream:ParentListenerUrl=https://127.0.0.1:0", "Appliance:Upstream:ParentListenerUrl")]
    public async Task FleetTlsWithoutAFleetIdentity_IsAStartupError_NamingTheSetting(string setting, string key)
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => RunningRole.StartAsync(
            ApplianceHost.Build,
            $"--Appliance:Cache:Directory={_state.Combine("lonely")}",
            "--Appliance:ControlUrl=https://127.0.0.1:0",
            ApplianceHarness.AllowUnsignedContent,
            setting));
        var message = RoleHost.DescribeStartupFailure(failure);
        Assert.Contains(key, message);
        Assert.Contains("Appliance:Fleet:CaCertificateFile", message);
    }

    [Theory]
    [InlineData("http://127.0.0.1:0")]
    [InlineData("https://parent.example:8443")]
    [InlineData("https://127.0.0.1")]
    public async Task ParentListenerUrl_MustBeAnHttpsListenAddress(string url)
    {
        var fleetDirectory = _state.Combine("bad-fleet");
        _fleet.WriteAppliance(fleetDirectory, Site, "a1").Dispose();
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => RunningRole.StartAsync(
            ApplianceHost.Build,
            [
                $"--Appliance:Cache:Directory={_state.Combine("bad")}",
                "--Appliance:ControlUrl=https://127.0.0.1:0",
                "--Appliance:Id=a1",
                $"--Appliance:Site={Site}",
                ApplianceHarness.AllowUnsignedContent,
                .. _fleet.ApplianceSettings(fleetDirectory),
                $"--Appliance:Upstream:ParentListenerUrl={url}",
            ]));
        var message = RoleHost.DescribeStartupFailure(failure);
        Assert.Contains("Appliance:Upstream:ParentListenerUrl", message);
        Assert.Contains("must be https://", message);
    }

    public void Dispose()
    {
        _fleet.Dispose();
        _foreign.Dispose();
        _state.Dispose();
    }

    private async Task<RunningRole> StartApplianceAsync(string id, IReadOnlyList<string> parents, params string[] more)
    {
        var fleetDirectory = _state.Combine(id + "-fleet");
        _fleet.WriteAppliance(fleetDirectory, Site, id).Dispose();
        string[] settings =
        [
            $"--Appliance:Id={id}",
            $"--Appliance:Site={Site}",
            $"--Appliance:Cache:Directory={_state.Combine(id)}",
            "--Appliance:ControlUrl=https://127.0.0.1:0",
            ApplianceHarness.AllowUnsignedContent,
            "--Appliance:Cache:RamBytes=33554432",
            "--Appliance:Cache:SsdBytes=268435456",
            .. _fleet.ApplianceSettings(fleetDirectory),
            .. parents.Select((p, i) => $"--Appliance:Parents:{i}={p}"),
            .. more,
        ];
        return await RunningRole.StartAsync(ApplianceHost.Build, settings);
    }

    private static Uri ParentAddress(RunningRole appliance) => appliance.Services.GetRequiredService<RoleListeners>().ParentAddress;

    /// <summary>A client of a parent listener presenting <paramref name="certificate"/> (or none); the server's certificate is not what these tests check.</summary>
    private static HttpClient Client(Uri baseAddress, X509Certificate2? certificate) => new(new SocketsHttpHandler
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            ClientCertificates = certificate is null ? null : [certificate],
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        },
    })
    {
        BaseAddress = baseAddress,
        Timeout = TimeSpan.FromSeconds(30),
    };

    private static async Task<double> UpstreamFetchesAsync(RunningRole appliance, Uri parent) =>
        (await appliance.MetricsAsync()).Value("openconnect_appliance_upstream_fetches_total", ("parent", parent.Authority)) ?? 0;

    private static async Task<double> UpstreamFailuresAsync(RunningRole appliance, Uri parent) =>
        (await appliance.MetricsAsync()).Value("openconnect_appliance_upstream_failures_total", ("parent", parent.Authority)) ?? 0;

    /// <summary>An https server with a given certificate that serves one object, counts requests and remembers the client's fleet identity.</summary>
    private sealed class TlsStub : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _requests;

        private TlsStub(WebApplication app) => _app = app;

        public Uri BaseAddress { get; private set; } = null!;

        public int Requests => Volatile.Read(ref _requests);

        public string? LastClientIdentity { get; private set; }

        /// <summary>Serves <paramref name="body"/> at <see cref="Segment"/> and 404 elsewhere (no integrity manifest).</summary>
        public static async Task<TlsStub> StartAsync(X509Certificate2 certificate, byte[] body)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(new Microsoft.AspNetCore.Server.Kestrel.Https.HttpsConnectionAdapterOptions
            {
                ServerCertificate = certificate,
                ClientCertificateMode = Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode.AllowCertificate,
                ClientCertificateValidation = (_, _, _) => true,
            })));
            var app = builder.Build();
            var stub = new TlsStub(app);
            app.Run(async context =>
            {
                Interlocked.Increment(ref stub._requests);
                if (context.Connection.ClientCertificate is { } client)
                {
                    stub.LastClientIdentity = Contracts.Fleet.FleetIdentity.FromCertificate(client)?.ToString();
                }

                if (context.Request.Path != Segment)
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return;
                }

                context.Response.ContentLength = body.Length;
                context.Response.ContentType = "application/octet-stream";
                await context.Response.Body.WriteAsync(body, context.RequestAborted);
            });
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
            stub.BaseAddress = new Uri(address);
            return stub;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
