using System.Net.Security;
using System.Runtime.Versioning;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Contracts.Fill.V1;
using OpenConnect.Contracts.Fleet;
using OpenConnect.FillController.Fill;
using OpenConnect.Testing;

namespace OpenConnect.FillController.Tests.Fill;

/// <summary>
/// The fill controller's link to steering's control plane: the roster over mutual TLS with the
/// controller's fleet certificate, steering refusing callers without one, and the controller
/// refusing to start without usable fleet files.
/// </summary>
public sealed class SteeringFleetLinkTests
{
    // Nothing listens here: these tests need steering and appliances, not content.
    private const string NoOrigin = "http://127.0.0.1:9";

    [Fact]
    public async Task Roster_OverMutualTls_WithTheFillControllerCertificate_ListsTheEnrolledAppliance()
    {
        await using var stack = await FillStack.StartAsync(NoOrigin, plan: null);
        Assert.Equal("https", stack.SteeringControl.Scheme);
        await using var appliance = stack.Own(await stack.StartApplianceAsync("oca-1", "isp1"));

        var roster = await stack.Controller.Services.GetRequiredService<RosterClient>().ListAsync(CancellationToken.None);
        var entry = Assert.Single(roster);
        Assert.Equal(("oca-1", "isp1", 67108864L), (entry.ApplianceId, entry.Site, entry.SsdBytes));
        Assert.True(DateTimeOffset.UtcNow - entry.LastHeartbeat < TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task Roster_WithoutAClientCertificate_OrWithAnAppliancesCertificate_IsRefused()
    {
        await using var stack = await FillStack.StartAsync(NoOrigin, plan: null);
        var trust = new FleetTrust(stack.Fleet.Authority);

        // No client certificate: steering's control listener ends the TLS handshake.
        using (var anonymous = Channel(stack.SteeringControl, trust, certificate: null))
        {
            var refused = await Assert.ThrowsAsync<RpcException>(async () => await new ApplianceRoster.ApplianceRosterClient(anonymous).ListAsync(new RosterRequest(), deadline: DateTime.UtcNow.AddSeconds(10)));
            FleetClients.AssertRefusedAtHandshake(refused);
        }

        // A valid fleet certificate for another identity: the roster is not for appliances.
        using var applianceCertificate = stack.Fleet.Issue("openconnect://appliance/isp1/oca-9");
        using (var appliance = Channel(stack.SteeringControl, trust, applianceCertificate))
        {
            var refused = await Assert.ThrowsAsync<RpcException>(async () => await new ApplianceRoster.ApplianceRosterClient(appliance).ListAsync(new RosterRequest(), deadline: DateTime.UtcNow.AddSeconds(10)));
            Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        }

        // The controller's own client, with its certificate, is answered.
        Assert.Empty(await stack.Controller.Services.GetRequiredService<RosterClient>().ListAsync(CancellationToken.None));
    }

    [Fact]
    [SupportedOSPlatform("linux")]
    public async Task Controller_RefusesToStart_WithMissingOrUnusableFleetFiles_NamingTheSetting()
    {
        using var state = new TempDirectory("openconnect-fill-fleet");
        using var fleet = FleetCertificates.Create(state.Combine("ca"));
        using var otherFleet = FleetCertificates.Create(state.Combine("other-ca"));
        var (certificateFile, keyFile) = FleetClients.WriteFillController(fleet, state.Combine("fc"));
        var (clientOnlyCertificate, clientOnlyKey) = FleetClients.WriteFillController(fleet, state.Combine("fc-client-only"), server: false);
        var (applianceCertificate, applianceKey) = fleet.WriteService(state.Combine("oca"), "oca", "openconnect://appliance/isp1/oca-1");
        string[] Settings(string certificate, string key, string ca) =>
        [
            $"--FillController:DataDirectory={state.Combine("data")}",
            "--FillController:Fill:ControlUrl=https://127.0.0.1:0",
            $"--FillController:Fleet:CertificateFile={certificate}",
            $"--FillController:Fleet:KeyFile={key}",
            $"--FillController:Fleet:CaCertificateFile={ca}",
        ];

        async Task<string> RefusedAsync(params string[] settings) =>
            (await Assert.ThrowsAnyAsync<Exception>(() => RunningRole.StartAsync(FillControllerHost.Build, settings))).Message;

        // Defaults under the data directory, which holds none of them.
        var noFiles = await RefusedAsync($"--FillController:DataDirectory={state.Combine("empty")}", "--FillController:Fill:ControlUrl=https://127.0.0.1:0");
        Assert.Contains("FillController:Fleet:CaCertificateFile", noFiles, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(state.Combine("empty"), "fleet", "ca.crt"), noFiles, StringComparison.Ordinal);
        Assert.Contains("does not exist", noFiles, StringComparison.Ordinal);

        var noCertificate = await RefusedAsync(Settings(state.Combine("none.crt"), keyFile, fleet.CaCertificateFile));
        Assert.Contains("FillController:Fleet:CertificateFile", noCertificate, StringComparison.Ordinal);
        Assert.Contains("POST /fleet/certificates", noCertificate, StringComparison.Ordinal);

        Assert.Contains("FillController:Fleet:KeyFile", await RefusedAsync(Settings(certificateFile, state.Combine("none.key"), fleet.CaCertificateFile)), StringComparison.Ordinal);
        Assert.Contains("not a PEM certificate and its private key", await RefusedAsync(Settings(certificateFile, applianceKey, fleet.CaCertificateFile)), StringComparison.Ordinal);
        Assert.Contains("does not chain to the fleet CA", await RefusedAsync(Settings(certificateFile, keyFile, otherFleet.CaCertificateFile)), StringComparison.Ordinal);
        Assert.Contains("names openconnect://appliance/isp1/oca-1", await RefusedAsync(Settings(applianceCertificate, applianceKey, fleet.CaCertificateFile)), StringComparison.Ordinal);

        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        Assert.Contains("chmod 600", await RefusedAsync(Settings(certificateFile, keyFile, fleet.CaCertificateFile)), StringComparison.Ordinal);

        Assert.Contains("must be an https:// URL", await RefusedAsync([.. Settings(certificateFile, keyFile, fleet.CaCertificateFile), "--FillController:Fill:SteeringControlUrl=http://127.0.0.1:8280"]), StringComparison.Ordinal);

        // The control listener serves TLS with the certificate: one without serverAuth (issued before steering added it) is refused.
        Assert.Contains("not valid for TLS servers", await RefusedAsync(Settings(clientOnlyCertificate, clientOnlyKey, fleet.CaCertificateFile)), StringComparison.Ordinal);

        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        // The control listener is TLS only.
        var cleartext = await RefusedAsync([.. Settings(certificateFile, keyFile, fleet.CaCertificateFile), "--FillController:Fill:ControlUrl=http://127.0.0.1:0"]);
        Assert.Contains("Fill:ControlUrl", cleartext, StringComparison.Ordinal);
        Assert.Contains("must be an https:// URL", cleartext, StringComparison.Ordinal);

        await using var started = await RunningRole.StartAsync(FillControllerHost.Build, Settings(certificateFile, keyFile, fleet.CaCertificateFile));
    }

    private static GrpcChannel Channel(Uri address, FleetTrust trust, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate)
    {
        var ssl = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = trust.ServerValidator(FleetIdentity.Steering) };
        if (certificate is not null)
        {
            ssl.ClientCertificateContext = SslStreamCertificateContext.Create(certificate, additionalCertificates: null, offline: true);
        }

        return GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { SslOptions = ssl } });
    }
}
