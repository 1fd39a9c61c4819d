using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Contracts.Fill;
using OpenConnect.Contracts.Fill.V1;
using OpenConnect.Contracts.Fleet;
using OpenConnect.FillController.Fill;
using OpenConnect.FillController.Fleet;
using OpenConnect.FillController.Placement;
using OpenConnect.Steering.ControlPlane;
using OpenConnect.Testing;

namespace OpenConnect.FillController.Tests.Fill;

/// <summary>
/// The fill controller's control listener on real TLS: fill orders only for the appliance named in
/// the caller's fleet certificate and listed by steering, operator endpoints only for operator
/// certificates, nothing without a certificate from the fleet CA, and the controller's own
/// certificate renewed over steering without a restart.
/// </summary>
public sealed class FillControlSecurityTests
{
    private const string NoOrigin = "http://127.0.0.1:9";

    [Fact]
    public async Task FillOrders_AreForTheCertificatesOwnAppliance_TheManifestItsOwn_AnotherIdRefusedNamingBoth()
    {
        await using var stack = await FillStack.StartAsync(NoOrigin, plan: null);
        using var a1 = stack.Fleet.Issue("openconnect://appliance/isp1/a1");
        await stack.RegisterApplianceAsync(a1, "a1");
        await stack.RegisterApplianceAsync(stack.Fleet.Issue("openconnect://appliance/isp1/a2"), "a2");
        var store = stack.Controller.Services.GetRequiredService<FillStore>();
        var day = DateOnly.FromDateTime(FillStack.Noon.UtcDateTime);
        var mine = AddManifest(store, "a1", day, new FileId("t1", "r0"));
        AddManifest(store, "a2", day, new FileId("t2", "r0"));

        using var channel = stack.FillOrdersChannel(a1);
        var client = new FillOrders.FillOrdersClient(channel);
        var reply = await client.GetManifestAsync(new ManifestRequest { ApplianceId = "a1" });
        Assert.Equal(mine, reply.Version);
        var manifest = ManifestCodec.Decode(reply.ZstdManifest.ToByteArray());
        Assert.Equal(("a1", "isp1", "t1"), (manifest.ApplianceId, manifest.Site, Assert.Single(manifest.Files).Title));

        var other = await Assert.ThrowsAsync<RpcException>(async () => await client.GetManifestAsync(new ManifestRequest { ApplianceId = "a2" }));
        Assert.Equal(StatusCode.PermissionDenied, other.StatusCode);
        Assert.Contains("'a2'", other.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("openconnect://appliance/isp1/a1", other.Status.Detail, StringComparison.Ordinal);

        var progress = new ProgressReport { ApplianceId = "a2", ManifestVersion = mine };
        progress.Files.Add(new FileProgress { Title = "t2", Rendition = "r0", State = FileState.Done });
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await client.ReportProgressAsync(progress));
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Contains("'a2'", refused.Status.Detail, StringComparison.Ordinal);
        Assert.All(store.CurrentFiles("isp1"), f => Assert.NotEqual(FillStore.Done, f.State));

        // Its own progress is recorded.
        var own = new ProgressReport { ApplianceId = "a1", ManifestVersion = mine };
        own.Files.Add(new FileProgress { Title = "t1", Rendition = "r0", State = FileState.Done, BytesFetched = 10 });
        Assert.True((await client.ReportProgressAsync(own)).Current);
        Assert.Contains(store.CurrentFiles("isp1"), f => f.ApplianceId == "a1" && f.State == FillStore.Done);
    }

    [Fact]
    public async Task FillOrders_WithoutACertificate_FromAForeignCa_Expired_AsAnOperator_OrOverCleartext_AreRefused()
    {
        await using var stack = await FillStack.StartAsync(NoOrigin, plan: null);
        Assert.Equal("https", stack.FillControl.Scheme);
        var request = new ManifestRequest { ApplianceId = "a1" };

        using (var anonymous = stack.FillOrdersChannel(null))
        {
            var refused = await Assert.ThrowsAsync<RpcException>(async () => await new FillOrders.FillOrdersClient(anonymous).GetManifestAsync(request));
            Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        }

        using var state = new TempDirectory("openconnect-fill-foreign");
        using var foreignFleet = FleetCertificates.Create(state.Combine("ca"));
        using var foreign = foreignFleet.Issue("openconnect://appliance/isp1/a1");
        using (var channel = stack.FillOrdersChannel(foreign))
        {
            var refused = await Assert.ThrowsAsync<RpcException>(async () => await new FillOrders.FillOrdersClient(channel).GetManifestAsync(request));
            FleetClients.AssertRefusedAtHandshake(refused);
        }

        using var expired = stack.Fleet.Issue("openconnect://appliance/isp1/a1", notBefore: DateTimeOffset.UtcNow.AddDays(-8), lifetime: TimeSpan.FromDays(7));
        using (var channel = stack.FillOrdersChannel(expired))
        {
            var refused = await Assert.ThrowsAsync<RpcException>(async () => await new FillOrders.FillOrdersClient(channel).GetManifestAsync(request));
            FleetClients.AssertRefusedAtHandshake(refused);
        }

        using (var channel = stack.FillOrdersChannel(stack.OperatorCertificate))
        {
            var refused = await Assert.ThrowsAsync<RpcException>(async () => await new FillOrders.FillOrdersClient(channel).GetManifestAsync(request));
            Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
            Assert.Contains("openconnect://operator/test", refused.Status.Detail, StringComparison.Ordinal);
        }

        // HTTP/2 cleartext (what appliances spoke before): the TLS listener does not answer it.
        var cleartext = new UriBuilder(stack.FillControl) { Scheme = Uri.UriSchemeHttp }.Uri;
        using (var channel = GrpcChannel.ForAddress(cleartext))
        {
            var refused = await Assert.ThrowsAsync<RpcException>(async () => await new FillOrders.FillOrdersClient(channel).GetManifestAsync(request, deadline: DateTime.UtcNow.AddSeconds(10)));
            Assert.NotEqual(StatusCode.OK, refused.StatusCode);
        }
    }

    [Fact]
    public async Task FillOrders_ForAnApplianceSteeringNoLongerLists_AreRefusedWithinOneRosterRefresh()
    {
        await using var stack = await FillStack.StartAsync(NoOrigin, plan: null, "--FillController:Fill:RosterRefreshInterval=00:00:01");
        using var a1 = stack.Fleet.Issue("openconnect://appliance/isp1/a1");
        await stack.RegisterApplianceAsync(a1, "a1");
        using var channel = stack.FillOrdersChannel(a1);
        var client = new FillOrders.FillOrdersClient(channel);
        Assert.Equal(0UL, (await client.GetManifestAsync(new ManifestRequest { ApplianceId = "a1" })).Version);

        // A valid certificate for an appliance steering does not list.
        using var stranger = stack.Fleet.Issue("openconnect://appliance/isp1/a3");
        using (var strangerChannel = stack.FillOrdersChannel(stranger))
        {
            var refused = await Assert.ThrowsAsync<RpcException>(async () => await new FillOrders.FillOrdersClient(strangerChannel).GetManifestAsync(new ManifestRequest { ApplianceId = "a3" }));
            Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
            Assert.Contains("roster does not list appliance 'a3'", refused.Status.Detail, StringComparison.Ordinal);
        }

        // The operator removes a1 from steering: the controller refuses it within one refresh.
        Assert.True(stack.Steering.Services.GetRequiredService<ApplianceRegistry>().Remove("a1"));
        var removedAt = DateTime.UtcNow;
        RpcException? last = null;
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                await client.GetManifestAsync(new ManifestRequest { ApplianceId = "a1" });
                return false;
            }
            catch (RpcException ex)
            {
                last = ex;
                return true;
            }
        }, "a1 refused after its removal", TimeSpan.FromSeconds(10));
        Assert.Equal(StatusCode.PermissionDenied, last!.StatusCode);
        Assert.Contains("roster does not list appliance 'a1'", last.Status.Detail, StringComparison.Ordinal);
        Assert.True(DateTime.UtcNow - removedAt < TimeSpan.FromSeconds(5), "refused within the refresh interval (1 s) plus a margin");
    }

    [Fact]
    public async Task OperatorEndpoints_TakeAnOperatorCertificate_OnTheControlListener_401And403Otherwise_404OnTheDataPort()
    {
        await using var stack = await FillStack.StartAsync(NoOrigin, plan: null);

        using (var anonymous = stack.ControlClient(certificate: null))
        {
            var response = await anonymous.GetAsync("/fill/sites/isp1");
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Contains("client certificate", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync("/fill/sites/isp1/open", null)).StatusCode);
        }

        using var applianceCertificate = stack.Fleet.Issue("openconnect://appliance/isp1/a1");
        using (var appliance = stack.ControlClient(applianceCertificate))
        {
            var response = await appliance.PostAsync("/fill/sites/isp1/open", null);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Contains("openconnect://appliance/isp1/a1", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Forbidden, (await appliance.GetAsync("/fill/sites/isp1")).StatusCode);
        }

        using var fillCertificate = stack.Fleet.Issue("openconnect://fill-controller");
        using (var service = stack.ControlClient(fillCertificate))
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await service.GetAsync("/fill/sites/isp1")).StatusCode);
        }

        var status = await stack.Http.GetAsync("/fill/sites/isp1");
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.Equal("isp1", JsonDocument.Parse(await status.Content.ReadAsStringAsync()).RootElement.GetProperty("site").GetString());

        using var data = stack.Controller.CreateClient();
        Assert.Equal(HttpStatusCode.NotFound, (await data.GetAsync("/fill/sites/isp1")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await data.PostAsync("/fill/sites/isp1/open", null)).StatusCode);
    }

    [Fact]
    public async Task TheOriginsCertificate_ReadsFillProgress_ButOpensNothing()
    {
        // The origin serves the operator page: it may read (GET) the sites, never open a fill.
        await using var stack = await FillStack.StartAsync(NoOrigin, plan: null);
        using var originCertificate = stack.Fleet.Issue("openconnect://origin");
        using var origin = stack.ControlClient(originCertificate);

        var list = await origin.GetAsync("/fill/sites");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        using (var sites = JsonDocument.Parse(await list.Content.ReadAsStringAsync()))
        {
            Assert.Equal(JsonValueKind.Null, sites.RootElement.GetProperty("rosterError").ValueKind);
            Assert.Equal(JsonValueKind.Array, sites.RootElement.GetProperty("sites").ValueKind);
        }

        Assert.Equal(HttpStatusCode.OK, (await origin.GetAsync("/fill/sites/isp1")).StatusCode);
        var open = await origin.PostAsync("/fill/sites/isp1/open", null);
        Assert.Equal(HttpStatusCode.Forbidden, open.StatusCode);
        Assert.Contains("openconnect://origin", JsonDocument.Parse(await open.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);

        // The operator's list names the site steering's roster knows, with its window.
        using var applianceCertificate = stack.Fleet.Issue("openconnect://appliance/isp1/a1");
        await stack.RegisterApplianceAsync(applianceCertificate, "a1");
        await stack.WaitForRosterAsync("a1");
        using var listed = JsonDocument.Parse(await stack.Http.GetStringAsync("/fill/sites"));
        var isp1 = listed.RootElement.GetProperty("sites").EnumerateArray().Single(s => s.GetProperty("site").GetString() == "isp1");
        Assert.True(isp1.GetProperty("windowEnd").GetDateTimeOffset() > isp1.GetProperty("windowStart").GetDateTimeOffset());
        Assert.Equal(0, isp1.GetProperty("copiesPlanned").GetInt32());
    }

    [Fact]
    public async Task OperatorEndpoints_AnswerCurl_WithAnOperatorCertificate_AndTheControllersPinnedKey()
    {
        // What run.sh and the operator how-to do: the controller's certificate names no host, so curl pins its key.
        await using var stack = await FillStack.StartAsync(NoOrigin, plan: null);
        var credentials = stack.Controller.Services.GetRequiredService<FleetCredentials>();
        var pin = "sha256//" + Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(credentials.Current.PublicKey.ExportSubjectPublicKeyInfo()));
        var certificateFile = stack.State.Combine("operator.crt");
        var keyFile = stack.State.Combine("operator.key");
        await File.WriteAllTextAsync(certificateFile, stack.OperatorCertificate.ExportCertificatePem());
        using (var operatorKey = stack.OperatorCertificate.GetECDsaPrivateKey()!)
        {
            await File.WriteAllTextAsync(keyFile, operatorKey.ExportPkcs8PrivateKeyPem());
        }

        string[] curl = ["-sS", "--http2", "--insecure", "--pinnedpubkey", pin, "--cert", certificateFile, "--key", keyFile, "-w", "\n%{http_code}"];

        var status = await ExternalProcess.RunAsync("curl", [.. curl, new Uri(stack.FillControl, "/fill/sites/isp1").ToString()], TimeSpan.FromSeconds(30));
        Assert.True(status.ExitCode == 0, status.StandardError);
        Assert.EndsWith("\n200", status.StandardOutput.TrimEnd(), StringComparison.Ordinal);
        Assert.Contains("\"site\":\"isp1\"", status.StandardOutput, StringComparison.Ordinal);

        // Another pinned key: curl refuses the controller.
        var wrongPin = "sha256//" + Convert.ToBase64String(new byte[32]);
        var refused = await ExternalProcess.RunAsync("curl", ["-sS", "--http2", "--insecure", "--pinnedpubkey", wrongPin, "--cert", certificateFile, "--key", keyFile, new Uri(stack.FillControl, "/fill/sites/isp1").ToString()], TimeSpan.FromSeconds(30));
        Assert.NotEqual(0, refused.ExitCode);

        // Without the operator certificate: 401 with a JSON error.
        var anonymous = await ExternalProcess.RunAsync("curl", ["-sS", "--http2", "--insecure", "--pinnedpubkey", pin, "-w", "\n%{http_code}", new Uri(stack.FillControl, "/fill/sites/isp1").ToString()], TimeSpan.FromSeconds(30));
        Assert.EndsWith("\n401", anonymous.StandardOutput.TrimEnd(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ControllerCertificate_IsRenewedOverSteering_WrittenAndServed_WithoutARestart()
    {
        // Two thirds of its 30 s lifetime have passed at start: due now, expiring in 10 s.
        var notBefore = DateTimeOffset.UtcNow.AddSeconds(-20);
        await using var stack = await FillStack.StartAsync(NoOrigin, plan: null, (notBefore, TimeSpan.FromSeconds(30)));
        var credentials = stack.Controller.Services.GetRequiredService<FleetCredentials>();
        var renewal = stack.Controller.Services.GetRequiredService<CertificateRenewal>();
        var keyBefore = await File.ReadAllTextAsync(credentials.KeyFile);
        await Eventually.TrueAsync(() => Task.FromResult(renewal.Renewals >= 1), "the controller's certificate renewed", TimeSpan.FromSeconds(8));

        using var onDisk = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(credentials.CertificateFile));
        Assert.Equal(credentials.Current.SerialNumber, onDisk.SerialNumber);
        Assert.True(onDisk.NotAfter.ToUniversalTime() > DateTime.UtcNow.AddDays(6), $"renewed for steering's lifetime, not {onDisk.NotAfter:u}");
        Assert.Equal(FleetIdentity.FillController, FleetIdentity.FromCertificate(onDisk));
        Assert.Equal(keyBefore, await File.ReadAllTextAsync(credentials.KeyFile));
        Assert.False(File.Exists(credentials.CertificateFile + ".tmp"));

        // A new connection to the control listener is served the renewed certificate.
        using var a1 = stack.Fleet.Issue("openconnect://appliance/isp1/a1");
        Assert.Equal(onDisk.SerialNumber, await ServedSerialAsync(stack.FillControl, a1));

        // Once the first certificate has expired, steering still answers the controller: it presents the renewed one.
        await Task.Delay(notBefore.AddSeconds(31) - DateTimeOffset.UtcNow is { Ticks: > 0 } left ? left : TimeSpan.Zero);
        await stack.Controller.Services.GetRequiredService<RosterClient>().ListAsync(CancellationToken.None);
        await stack.RegisterApplianceAsync(a1, "a1");
        using var channel = stack.FillOrdersChannel(a1);
        Assert.Equal(0UL, (await new FillOrders.FillOrdersClient(channel).GetManifestAsync(new ManifestRequest { ApplianceId = "a1" })).Version);
    }

    private static ulong AddManifest(FillStore store, string applianceId, DateOnly day, FileId file) =>
        store.AddManifest(applianceId, "isp1", day, [file], version =>
        {
            var manifest = new FillManifest { Version = version, ApplianceId = applianceId, Site = "isp1", Day = day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) };
            manifest.Files.Add(new FillFile { Title = file.Title, Rendition = file.Rendition, Bytes = 1000 });
            return ManifestCodec.Encode(manifest);
        });

    /// <summary>The serial of the certificate a fresh TLS connection to <paramref name="address"/> is served.</summary>
    private static async Task<string> ServedSerialAsync(Uri address, X509Certificate2 client)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port);
        await using var tls = new SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "fill-controller",
            ClientCertificates = [client],
            ApplicationProtocols = [SslApplicationProtocol.Http2],
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });
        return new X509Certificate2(tls.RemoteCertificate!).SerialNumber;
    }
}
