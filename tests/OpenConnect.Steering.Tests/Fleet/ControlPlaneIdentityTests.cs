using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Contracts.Fill.V1;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Contracts.Steering.V1;
using OpenConnect.Testing;
using ControlPlaneGrpc = OpenConnect.Contracts.Steering.V1.ControlPlane;

namespace OpenConnect.Steering.Tests.Fleet;

/// <summary>Steering's control listener over real TLS on loopback: who may register, heartbeat and read the roster.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ControlPlaneIdentityTests
{
    private static RegisterRequest Register(string id, string site, string url, string instance) => new()
    {
        Identity = new ApplianceIdentity { ApplianceId = id, Site = site, PublicUrl = url, CapacityBytesPerSecond = 1_000_000_000, MaxConnections = 100, SsdBytes = 1 },
        InstanceId = instance,
    };

    [Fact]
    public async Task Register_WithoutAClientCertificate_FailsInTheHandshake()
    {
        await using var h = await SteeringHarness.StartAsync(withOrigin: false);
        var client = new ControlPlaneGrpc.ControlPlaneClient(h.ChannelWith(certificate: null));
        var failure = await Assert.ThrowsAsync<RpcException>(() => client.RegisterAsync(Register("evil", "isp1", "http://127.0.0.1:9", "x")).ResponseAsync);
        AssertHandshakeFailed(failure);
        Assert.Null(h.Steering.Services.GetRequiredService<ControlPlane.ApplianceRegistry>().Find("evil"));
    }

    [Fact]
    public async Task PlaintextClient_IsRefused()
    {
        await using var h = await SteeringHarness.StartAsync(withOrigin: false);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{h.ControlAddress.Port}");
        var client = new ControlPlaneGrpc.ControlPlaneClient(channel);
        var failure = await Assert.ThrowsAsync<RpcException>(() => client.RegisterAsync(Register("evil", "isp1", "http://127.0.0.1:9", "x"), deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync);
        Assert.NotEqual(StatusCode.OK, failure.StatusCode);
        Assert.Equal(0, h.Steering.Services.GetRequiredService<ControlPlane.ApplianceRegistry>().Count);
    }

    [Fact]
    public async Task CertificateFromAnotherCa_FailsInTheHandshake()
    {
        await using var h = await SteeringHarness.StartAsync(withOrigin: false);
        using var dir = new TempDirectory("openconnect-foreign-ca");
        using var foreign = FleetCertificates.Create(dir.Path);
        using var certificate = foreign.Issue("openconnect://appliance/isp1/a1");
        var client = new ControlPlaneGrpc.ControlPlaneClient(h.ChannelWith(certificate));
        var failure = await Assert.ThrowsAsync<RpcException>(() => client.RegisterAsync(Register("a1", "isp1", "http://127.0.0.1:9", "x")).ResponseAsync);
        AssertHandshakeFailed(failure);
        Assert.Equal(0, h.Steering.Services.GetRequiredService<ControlPlane.ApplianceRegistry>().Count);
    }

    [Fact]
    public async Task RegisterAsAnotherId_WithAValidCertificate_IsRefused_AndNeverReachesPlay()
    {
        await using var h = await SteeringHarness.StartAsync();
        var client = h.ControlFor("appliance-1");
        var failure = await Assert.ThrowsAsync<RpcException>(() => client.RegisterAsync(Register("evil", "isp1", "http://127.0.0.1:9", "x")).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, failure.StatusCode);
        Assert.Contains("openconnect://appliance/isp1/appliance-1", failure.Status.Detail, StringComparison.Ordinal);
        // Same id, another site: refused too.
        failure = await Assert.ThrowsAsync<RpcException>(() => client.RegisterAsync(Register("appliance-1", "isp2", "http://127.0.0.1:9", "x")).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, failure.StatusCode);
        // Heartbeats for another id as well.
        failure = await Assert.ThrowsAsync<RpcException>(() => client.HeartbeatAsync(new HeartbeatRequest { ApplianceId = "evil", InstanceId = "x" }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, failure.StatusCode);
        Assert.DoesNotContain("evil", await h.PlayPathwaysAsync());
    }

    [Fact]
    public async Task SecondCertificateForALiveId_IsRefused_AndTheFirstKeepsTheSite()
    {
        await using var h = await SteeringHarness.StartAsync();
        await h.RegisterAsync("appliance-1", "isp1", "http://127.0.0.1:8401");
        Assert.True((await h.HeartbeatAsync("appliance-1")).Known);

        using var second = h.IssueCertificate(FleetIdentity.Appliance("isp1", "appliance-1"));
        var hijacker = new ControlPlaneGrpc.ControlPlaneClient(h.ChannelWith(second));
        var failure = await Assert.ThrowsAsync<RpcException>(() => hijacker.RegisterAsync(Register("appliance-1", "isp1", "http://127.0.0.1:9", "hijack")).ResponseAsync);
        Assert.Equal(StatusCode.AlreadyExists, failure.StatusCode);

        // The first instance keeps heartbeating and keeps its URL; the hijacker's heartbeats are unknown.
        h.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.True((await h.HeartbeatAsync("appliance-1")).Known);
        Assert.False((await hijacker.HeartbeatAsync(new HeartbeatRequest { ApplianceId = "appliance-1", InstanceId = "hijack" })).Known);
        Assert.Equal("http://127.0.0.1:8401", h.Steering.Services.GetRequiredService<ControlPlane.ApplianceRegistry>().Find("appliance-1")!.PublicUrl);

        // Once the first falls silent past the liveness window, a replacement box may take over.
        h.Time.Advance(TimeSpan.FromSeconds(4));
        await hijacker.RegisterAsync(Register("appliance-1", "isp1", "http://127.0.0.1:8409", "replacement"));
        Assert.Equal("http://127.0.0.1:8409", h.Steering.Services.GetRequiredService<ControlPlane.ApplianceRegistry>().Find("appliance-1")!.PublicUrl);
    }

    [Fact]
    public async Task ExpiredCertificate_IsRefused_OnTheOpenConnection_AndOnANewOne()
    {
        await using var h = await SteeringHarness.StartAsync(withOrigin: false);
        using var certificate = h.IssueCertificate(FleetIdentity.Appliance("isp1", "a1"), TimeSpan.FromHours(1));
        var client = new ControlPlaneGrpc.ControlPlaneClient(h.ChannelWith(certificate));
        await client.RegisterAsync(Register("a1", "isp1", "http://127.0.0.1:8401", "i1"));
        Assert.True((await client.HeartbeatAsync(new HeartbeatRequest { ApplianceId = "a1", InstanceId = "i1" })).Known);

        h.Time.Advance(TimeSpan.FromHours(2));
        var failure = await Assert.ThrowsAsync<RpcException>(() => client.HeartbeatAsync(new HeartbeatRequest { ApplianceId = "a1", InstanceId = "i1" }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, failure.StatusCode);

        var fresh = new ControlPlaneGrpc.ControlPlaneClient(h.ChannelWith(certificate));
        failure = await Assert.ThrowsAsync<RpcException>(() => fresh.HeartbeatAsync(new HeartbeatRequest { ApplianceId = "a1", InstanceId = "i1" }).ResponseAsync);
        AssertHandshakeFailed(failure);
    }

    [Fact]
    public async Task Roster_IsForTheFillController_NotForAppliances()
    {
        await using var h = await SteeringHarness.StartAsync(withOrigin: false);
        await h.RegisterAsync("a1", "isp1", "http://127.0.0.1:8401");
        using var applianceCertificate = h.IssueCertificate(FleetIdentity.Appliance("isp1", "a2"));
        var asAppliance = new ApplianceRoster.ApplianceRosterClient(h.ChannelWith(applianceCertificate));
        var failure = await Assert.ThrowsAsync<RpcException>(() => asAppliance.ListAsync(new RosterRequest()).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, failure.StatusCode);

        using var fillCertificate = h.IssueCertificate(FleetIdentity.FillController);
        var roster = await new ApplianceRoster.ApplianceRosterClient(h.ChannelWith(fillCertificate)).ListAsync(new RosterRequest());
        Assert.Equal("a1", Assert.Single(roster.Appliances).ApplianceId);

        using var operatorCertificate = h.IssueCertificate(FleetIdentity.Operator("alice"));
        roster = await new ApplianceRoster.ApplianceRosterClient(h.ChannelWith(operatorCertificate)).ListAsync(new RosterRequest());
        Assert.Single(roster.Appliances);
    }

    [Fact]
    public async Task CaKeyReadableByOthers_StopsTheStart()
    {
        using var state = new TempDirectory("openconnect-steering");
        var data = state.Combine("steering");
        using (FleetCertificates.Create(Path.Combine(data, "fleet")))
        {
        }

        File.SetUnixFileMode(Path.Combine(data, "fleet", "ca.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => RunningRole.StartAsync(
            SteeringHost.Build, $"--Steering:DataDirectory={data}", "--Steering:ControlUrl=https://127.0.0.1:0", "--Steering:Fleet:EnrollUrl=https://127.0.0.1:0"));
        Assert.Contains("chmod 600", OpenConnect.Hosting.RoleHost.DescribeStartupFailure(failure), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExistingCa_IsLoaded_AndItsCertificatesAccepted()
    {
        using var state = new TempDirectory("openconnect-steering");
        var data = state.Combine("steering");
        using var ca = FleetCertificates.Create(Path.Combine(data, "fleet"));
        await using var steering = await RunningRole.StartAsync(
            SteeringHost.Build, $"--Steering:DataDirectory={data}", "--Steering:ControlUrl=https://127.0.0.1:0", "--Steering:Fleet:EnrollUrl=https://127.0.0.1:0");
        var fleet = steering.Services.GetRequiredService<Steering.Fleet.FleetState>();
        Assert.Equal(ca.Authority.Thumbprint, fleet.Authority.Certificate.Thumbprint);
        Assert.Equal(new FleetVerdict(FleetIdentity.Steering, null), fleet.Trust.CheckServer(fleet.ServerCertificate));
        using var certificate = ca.Issue("openconnect://appliance/isp1/a1");
        Assert.Equal(FleetIdentity.Appliance("isp1", "a1"), fleet.Trust.CheckClient(certificate).Identity);
    }

    [Fact]
    public void ControlUrl_MustBeHttps()
    {
        var check = new OpenConnect.Hosting.OptionsCheck("Steering");
        new SteeringOptions { ControlUrl = "http://127.0.0.1:8280" }.Validate(check);
        Assert.Contains(check.Errors, e => e.Contains("ControlUrl", StringComparison.Ordinal) && e.Contains("https://", StringComparison.Ordinal));
    }

    /// <summary>The call never got an answer from steering: the TLS handshake failed (gRPC reports it as Unavailable or Internal).</summary>
    internal static void AssertHandshakeFailed(RpcException failure)
    {
        Assert.True(failure.StatusCode is StatusCode.Unavailable or StatusCode.Internal, failure.ToString());
        Assert.IsType<HttpRequestException>(failure.Status.DebugException);
    }

    internal static (ECDsa Key, string CsrPem) NewRequest(string subject)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return (key, new CertificateRequest($"CN={subject}", key, HashAlgorithmName.SHA256).CreateSigningRequestPem());
    }

    internal static X509Certificate2 WithKey(string pem, ECDsa key)
    {
        using var certificate = X509Certificate2.CreateFromPem(pem);
        return certificate.CopyWithPrivateKey(key);
    }
}
