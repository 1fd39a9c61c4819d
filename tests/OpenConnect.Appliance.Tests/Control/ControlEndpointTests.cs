using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Appliance.Control;
using OpenConnect.Appliance.Identity;
using OpenConnect.Appliance.Tests.Serving;
using OpenConnect.Contracts.Appliance.V1;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Hosting;
using OpenConnect.Testing;

namespace OpenConnect.Appliance.Tests.Control;

/// <summary>
/// The appliance's control endpoint (drain, Prefetch) on mutual TLS: it serves the appliance's own
/// fleet certificate, takes only clients with a certificate from the fleet CA, and serves only
/// operators; an appliance without a fleet identity has none.
/// </summary>
public sealed class ControlEndpointTests
{
    private const string Segment = "/v/ctl/720p/seg-1.m4s";

    private static readonly FleetIdentity Appliance = FleetIdentity.Appliance("isp-c", "oca-c");

    private static Task<ApplianceHarness> StartAsync(out string fleetDirectory, params string[] settings)
    {
        var fleet = TestFleet.ApplianceFleetSettings(Appliance.Name, Appliance.Site, out fleetDirectory);
        return ApplianceHarness.StartAsync([$"--Appliance:Id={Appliance.Name}", $"--Appliance:Site={Appliance.Site}", .. fleet, .. settings]);
    }

    private static Uri ControlAddress(ApplianceHarness harness) => harness.Appliance.Services.GetRequiredService<RoleListeners>().ControlAddress;

    private static bool Draining(ApplianceHarness harness) => harness.Appliance.Services.GetRequiredService<ControlState>().Draining;

    private static X509Certificate2 Operator(string name = "alice") => TestFleet.Ca.Issue($"openconnect://operator/{name}");

    [Fact]
    public async Task AnOperator_Drains_AndPrefetches_OverMutualTls_WithTheAppliancesFleetCertificate()
    {
        await using var h = await StartAsync(out var fleetDirectory);
        var control = ControlAddress(h);
        Assert.Equal(Uri.UriSchemeHttps, control.Scheme);
        var served = new List<string>();
        using var client = TestFleet.ControlHttp(control, Operator(), Appliance, server => served.Add(server.SerialNumber));

        var on = await client.PostAsync("/control/drain", null);
        Assert.Equal(HttpStatusCode.OK, on.StatusCode);
        Assert.Equal("""{"draining":true}""", await on.Content.ReadAsStringAsync());
        Assert.True(Draining(h));
        Assert.Equal("""{"draining":true}""", await client.GetStringAsync("/control/drain"));
        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync("/control/drain")).StatusCode);
        Assert.False(Draining(h));

        // The server certificate is the appliance's own, from its fleet directory.
        using var own = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(fleetDirectory, ApplianceCredentials.CertificateFileName)));
        Assert.NotEmpty(served);
        Assert.All(served, serial => Assert.Equal(own.SerialNumber, serial));

        var body = ApplianceHarness.RandomBytes(100_000, 71);
        h.Parent.Put(Segment, body);
        using var channel = TestFleet.ControlGrpc(control, Operator("bob"), Appliance);
        var last = await PrefetchAsync(channel);

        Assert.Equal(1, last.ObjectsDone);
        Assert.Equal(100_000, last.BytesFetched);
        Assert.Equal(1, h.Parent.RequestsFor(Segment));
    }

    /// <summary>
    /// The operator how-to: curl with an operator certificate and key, pinning the appliance's public
    /// key (its certificate names it by a URI, not a host name, so curl's host check cannot pass; the
    /// key stays the same across renewals). A wrong pin, or no certificate, changes nothing.
    /// </summary>
    [Fact]
    public async Task AnOperator_DrainsWithCurl_PinningTheAppliancesKey()
    {
        await using var h = await StartAsync(out var fleetDirectory);
        var control = ControlAddress(h);
        var (certificateFile, keyFile) = TestFleet.Ca.WriteService(h.State.Combine("operator"), "alice", "openconnect://operator/alice");
        using var own = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(fleetDirectory, ApplianceCredentials.CertificateFileName)));
        var pin = "sha256//" + Convert.ToBase64String(SHA256.HashData(own.PublicKey.ExportSubjectPublicKeyInfo()));
        var wrongPin = "sha256//" + Convert.ToBase64String(SHA256.HashData(TestFleet.Ca.Authority.PublicKey.ExportSubjectPublicKeyInfo()));

        Task<ExternalProcess.Result> Curl(string pinned, params string[] more) => ExternalProcess.RunAsync(
            "curl",
            ["-sS", "--http2", "--max-time", "20", "-k", "--pinnedpubkey", pinned, .. more, "-X", "POST", new Uri(control, "/control/drain").ToString()],
            TimeSpan.FromSeconds(30));

        var wrong = await Curl(wrongPin, "--cert", certificateFile, "--key", keyFile);
        Assert.NotEqual(0, wrong.ExitCode);
        var anonymous = await Curl(pin);
        Assert.NotEqual(0, anonymous.ExitCode);
        Assert.False(Draining(h));

        var drained = await Curl(pin, "--cert", certificateFile, "--key", keyFile);
        Assert.True(drained.ExitCode == 0, drained.StandardError);
        Assert.Equal("""{"draining":true}""", drained.StandardOutput.Trim());
        Assert.True(Draining(h));
    }

    public static TheoryData<string> RefusedAtTheHandshake => ["none", "foreign CA", "expired", "not yet valid", "self-signed operator"];

    [Theory]
    [MemberData(nameof(RefusedAtTheHandshake))]
    public async Task AClientWithoutAValidFleetCertificate_IsRefusedAtTheHandshake(string kind)
    {
        await using var h = await StartAsync(out _);
        var control = ControlAddress(h);
        var certificate = kind switch
        {
            "none" => null,
            "foreign CA" => TestFleet.Foreign.Issue("openconnect://operator/alice"),
            "expired" => TestFleet.Ca.Issue("openconnect://operator/alice", notBefore: DateTimeOffset.UtcNow.AddDays(-10), lifetime: TimeSpan.FromDays(1)),
            "not yet valid" => TestFleet.Ca.Issue("openconnect://operator/alice", notBefore: DateTimeOffset.UtcNow.AddDays(1)),
            _ => SelfSigned("openconnect://operator/alice"),
        };

        using var client = TestFleet.ControlHttp(control, certificate, Appliance);
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => client.PostAsync("/control/drain", null));
        Assert.Null(refused.StatusCode);
        Assert.False(Draining(h));

        using var channel = TestFleet.ControlGrpc(control, certificate, Appliance);
        var error = await Assert.ThrowsAsync<RpcException>(() => PrefetchAsync(channel));
        // No gRPC answer at all: the call fails in the transport (Unavailable, or Internal when the
        // connection dies after the client finished its side of a TLS 1.3 handshake).
        Assert.Contains(error.StatusCode, new[] { StatusCode.Unavailable, StatusCode.Internal });
        Assert.Equal(0, h.Parent.TotalRequests);

        // The same endpoint serves an operator: the refusal was about the certificate.
        using var admitted = TestFleet.ControlHttp(control, Operator(), Appliance);
        Assert.Equal(HttpStatusCode.OK, (await admitted.GetAsync("/control/drain")).StatusCode);
    }

    public static TheoryData<string> NotOperators => ["openconnect://appliance/isp-c/oca-other", "openconnect://appliance/isp-c/oca-c", "openconnect://fill-controller", "openconnect://steering", "openconnect://origin"];

    [Theory]
    [MemberData(nameof(NotOperators))]
    public async Task FleetIdentitiesOtherThanOperators_Get403_AndPermissionDenied_NamingThem(string identity)
    {
        await using var h = await StartAsync(out _);
        var control = ControlAddress(h);
        var certificate = TestFleet.Ca.Issue(identity, server: true);

        using var client = TestFleet.ControlHttp(control, certificate, Appliance);
        foreach (var method in new[] { HttpMethod.Post, HttpMethod.Delete, HttpMethod.Get })
        {
            var response = await client.SendAsync(new HttpRequestMessage(method, "/control/drain") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact });
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var message = json.RootElement.GetProperty("error").GetString();
            Assert.Contains(identity, message, StringComparison.Ordinal);
            Assert.Contains("operator", message, StringComparison.Ordinal);
        }

        Assert.False(Draining(h));

        h.Parent.Put(Segment, ApplianceHarness.RandomBytes(1000, 72));
        using var channel = TestFleet.ControlGrpc(control, certificate, Appliance);
        var error = await Assert.ThrowsAsync<RpcException>(() => PrefetchAsync(channel));
        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Contains(identity, error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, h.Parent.TotalRequests);
    }

    [Fact]
    public async Task APlaintextClient_GetsNoAnswer()
    {
        await using var h = await StartAsync(out _);
        var plaintext = new UriBuilder(ControlAddress(h)) { Scheme = Uri.UriSchemeHttp }.Uri;

        // h2c with prior knowledge, as curl --http2-prior-knowledge sends it.
        using var h2c = new HttpClient { BaseAddress = plaintext, DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => h2c.PostAsync("/control/drain", null));
        Assert.Null(refused.StatusCode);

        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(plaintext);
        var error = await Assert.ThrowsAsync<RpcException>(() => PrefetchAsync(channel));
        Assert.NotEqual(StatusCode.OK, error.StatusCode);
        Assert.NotEqual(StatusCode.PermissionDenied, error.StatusCode);
        Assert.False(Draining(h));
        Assert.Equal(0, h.Parent.TotalRequests);
    }

    [Fact]
    public async Task ARenewedCertificate_IsServed_ToTheNextConnection_WithoutARestart()
    {
        await using var h = await StartAsync(out var fleetDirectory);
        var control = ControlAddress(h);
        var first = new List<string>();
        using (var client = TestFleet.ControlHttp(control, Operator(), Appliance, server => first.Add(server.SerialNumber)))
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/control/drain")).StatusCode);
        }

        // What CertificateRenewal does with steering's answer: a new certificate for the same key.
        using var key = ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(Path.Combine(fleetDirectory, ApplianceCredentials.KeyFileName)));
        using var renewed = TestFleet.Ca.Issue(key, Appliance.ToString(), server: true);
        var credentials = h.Appliance.Services.GetRequiredService<FleetEnrollment>().Credentials!;
        credentials.Install(renewed.ExportCertificatePem(), save: true);

        var second = new List<string>();
        using (var client = TestFleet.ControlHttp(control, Operator(), Appliance, server => second.Add(server.SerialNumber)))
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/control/drain")).StatusCode);
        }

        Assert.NotEqual(renewed.SerialNumber, Assert.Single(first));
        Assert.Equal(renewed.SerialNumber, Assert.Single(second));
    }

    [Fact]
    public async Task ACertificateThatExpiresOnAnOpenConnection_IsRefusedOnTheNextRequest()
    {
        await using var h = await StartAsync(out _);
        var shortLived = TestFleet.Ca.Issue("openconnect://operator/alice", notBefore: DateTimeOffset.UtcNow.AddSeconds(-1), lifetime: TimeSpan.FromSeconds(4));
        using var client = TestFleet.ControlHttp(ControlAddress(h), shortLived, Appliance);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/control/drain")).StatusCode);

        // X.509 times have whole seconds: wait until the certificate is past its end for sure.
        var end = new DateTimeOffset(shortLived.NotAfter.ToUniversalTime());
        await Task.Delay(end - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1.5));
        var response = await client.PostAsync("/control/drain", null);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("not valid now", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.False(Draining(h));
    }

    [Fact]
    public async Task AnApplianceWithoutAFleetIdentity_HasNoControlListener()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        await using var h = await ApplianceHarness.StartAsync($"--Appliance:ControlUrl=https://127.0.0.1:{port}");
        Assert.False(h.Appliance.Services.GetRequiredService<RoleListeners>().HasControl);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var refused = await Assert.ThrowsAsync<SocketException>(() => socket.ConnectAsync(IPAddress.Loopback, port));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);

        // The drain switch is nowhere else either.
        using var data = new HttpClient { BaseAddress = h.BaseAddress };
        Assert.Equal(HttpStatusCode.NotFound, (await data.PostAsync("/control/drain", null)).StatusCode);
        Assert.False(Draining(h));
    }

    [Theory]
    [InlineData("http://127.0.0.1:0")]
    [InlineData("https://127.0.0.1")]
    [InlineData("https://appliance.example:8480")]
    [InlineData("https://127.0.0.1:8480/control")]
    public async Task AControlUrlThatIsNotHttps_StopsTheStart_NamingTheKey(string url)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => StartAsync(out _, $"--Appliance:ControlUrl={url}"));
        Assert.Contains("Appliance:ControlUrl", error.Message, StringComparison.Ordinal);
        Assert.Contains("https://", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Prefetches <see cref="Segment"/> over <paramref name="channel"/> to the end of the progress stream; the last progress.</summary>
    private static async Task<PrefetchProgress> PrefetchAsync(Grpc.Net.Client.GrpcChannel channel)
    {
        var request = new PrefetchRequest();
        request.Paths.Add(Segment);
        var last = new PrefetchProgress();
        using var call = new ApplianceFill.ApplianceFillClient(channel).Prefetch(request);
        await foreach (var update in call.ResponseStream.ReadAllAsync())
        {
            last = update;
        }

        return last;
    }

    private static X509Certificate2 SelfSigned(string identity)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={identity}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddUri(new Uri(identity));
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-1), now.AddDays(1));
    }
}
