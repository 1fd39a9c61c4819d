using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Appliance;
using OpenConnect.Appliance.Control;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Contracts.Fleet.V1;
using OpenConnect.Contracts.Steering.V1;
using OpenConnect.Testing;
using ControlPlaneGrpc = OpenConnect.Contracts.Steering.V1.ControlPlane;

namespace OpenConnect.Steering.Tests.Fleet;

/// <summary>Operators add and remove appliances; appliances enroll with a one-time code and renew; all over real TLS on loopback.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EnrollmentTests
{
    private static async Task<string> AddApplianceAsync(SteeringHarness h, string id, string site)
    {
        using var operators = h.OperatorClient(h.OperatorToken);
        var response = await operators.PostAsJsonAsync("/fleet/appliances", new { id, site });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal($"openconnect://appliance/{site}/{id}", body.GetProperty("identity").GetString());
        return body.GetProperty("code").GetString()!;
    }

    private static Enrollment.EnrollmentClient EnrollClient(SteeringHarness h) => new(h.ChannelWith(certificate: null, h.EnrollAddress));

    [Fact]
    public async Task OperatorCalls_WithoutCredential_Are401_WithAWrongOne_403()
    {
        await using var h = await SteeringHarness.StartAsync(withOrigin: false);
        using (var anonymous = h.OperatorClient(token: null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/fleet/appliances", new { id = "a1", site = "isp1" })).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/fleet/appliances")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.DeleteAsync("/fleet/appliances/a1")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/fleet/certificates", new { identity = "openconnect://fill-controller", csr = "x" })).StatusCode);
        }

        using (var wrong = h.OperatorClient(h.OperatorToken[..^1] + (h.OperatorToken[^1] == 'a' ? 'b' : 'a')))
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await wrong.PostAsJsonAsync("/fleet/appliances", new { id = "a1", site = "isp1" })).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await wrong.GetAsync("/fleet/appliances")).StatusCode);
        }

        // The play history is not on the player port, not even with the operator token: it is on the
        // control listener, for the fill controller's certificate or an operator's, not an appliance's.
        Assert.Equal(HttpStatusCode.NotFound, (await h.Http.GetAsync("/history/plays")).StatusCode);
        using var right = new HttpRequestMessage(HttpMethod.Get, "/history/plays") { Headers = { { "Authorization", "Bearer " + h.OperatorToken } } };
        Assert.Equal(HttpStatusCode.NotFound, (await h.Http.SendAsync(right)).StatusCode);
        using (var fillController = h.IssueCertificate(FleetIdentity.FillController))
        using (var client = h.ControlHttp(fillController))
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/history/plays")).StatusCode);
        }

        using (var operatorCertificate = h.IssueCertificate(FleetIdentity.Operator("alice")))
        using (var client = h.ControlHttp(operatorCertificate))
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/history/plays")).StatusCode);
        }

        using (var appliance = h.IssueCertificate(FleetIdentity.Appliance("isp1", "a1")))
        using (var client = h.ControlHttp(appliance))
        {
            var refused = await client.GetAsync("/history/plays");
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("openconnect://fill-controller", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // The token file is private to steering's user.
        var mode = File.GetUnixFileMode(Path.Combine(h.Fleet.Directory, "operator.token"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(h.Fleet.Directory, "ca.key")));
        // Nothing was added by the refused calls.
        Assert.Empty(h.Fleet.Enrollments.List());
    }

    [Fact]
    public async Task Enroll_IssuesTheOperatorsIdentity_NotTheRequests_AndTheCodeIsSingleUse()
    {
        await using var h = await SteeringHarness.StartAsync(withOrigin: false);
        var code = await AddApplianceAsync(h, "a1", "isp1");
        // The code is stored hashed only.
        Assert.DoesNotContain(code, await File.ReadAllTextAsync(Path.Combine(h.Fleet.Directory, "appliances.json")), StringComparison.Ordinal);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = new CertificateRequest("CN=evil", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddUri(new Uri("openconnect://appliance/isp9/evil"));
        csr.CertificateExtensions.Add(names.Build());
        var reply = await EnrollClient(h).EnrollAsync(new EnrollRequest { Code = code, CsrPem = csr.CreateSigningRequestPem() });
        using var certificate = X509Certificate2.CreateFromPem(reply.CertificatePem);
        Assert.Equal(FleetIdentity.Appliance("isp1", "a1"), FleetIdentity.FromCertificate(certificate));
        // An appliance serves its control and parent listeners with the same certificate.
        Assert.Equal(FleetIdentity.Appliance("isp1", "a1"), h.Fleet.Trust.CheckServer(certificate).Identity);
        Assert.Equal("openconnect://appliance/isp1/a1", Assert.Single(FleetIdentity.SubjectAlternativeUris(certificate)));
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), certificate.PublicKey.ExportSubjectPublicKeyInfo());
        Assert.Equal(h.Fleet.Authority.Certificate.Thumbprint, X509Certificate2.CreateFromPem(reply.AuthorityPem).Thumbprint);

        // The certificate works on the control plane, for its own identity.
        using var withKey = certificate.CopyWithPrivateKey(key);
        var control = new ControlPlaneGrpc.ControlPlaneClient(h.ChannelWith(withKey));
        await control.RegisterAsync(new RegisterRequest { InstanceId = "i1", Identity = new ApplianceIdentity { ApplianceId = "a1", Site = "isp1", PublicUrl = "http://127.0.0.1:8401", CapacityBytesPerSecond = 1000 } });

        var reused = await Assert.ThrowsAsync<RpcException>(() => EnrollClient(h).EnrollAsync(new EnrollRequest { Code = code, CsrPem = csr.CreateSigningRequestPem() }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, reused.StatusCode);
        Assert.Contains("already used", reused.Status.Detail, StringComparison.Ordinal);

        var wrong = await Assert.ThrowsAsync<RpcException>(() => EnrollClient(h).EnrollAsync(new EnrollRequest { Code = "0123456789abcdef", CsrPem = csr.CreateSigningRequestPem() }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, wrong.StatusCode);
        Assert.Contains("not valid", wrong.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Add_WithAnotherReplicasCode_StoresThatCode_AndTheApplianceEnrollsWithIt()
    {
        await using var h = await SteeringHarness.StartAsync(withOrigin: false);
        using var operators = h.OperatorClient(h.OperatorToken);
        var bad = await operators.PostAsJsonAsync("/fleet/appliances", new { id = "a1", site = "isp1", code = "not-a-code" });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("code must be 40 lowercase hex digits (an enrollment code another replica issued), or absent", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());

        const string Code = "00112233445566778899aabbccddeeff00112233";
        var added = await operators.PostAsJsonAsync("/fleet/appliances", new { id = "a1", site = "isp1", code = Code });
        Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        Assert.Equal(Code, (await added.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var reply = await EnrollClient(h).EnrollAsync(new EnrollRequest { Code = Code, CsrPem = new CertificateRequest("CN=a1", key, HashAlgorithmName.SHA256).CreateSigningRequestPem() });
        Assert.Contains("-----BEGIN CERTIFICATE-----", reply.CertificatePem, StringComparison.Ordinal);

        // A spent code cannot be handed out again.
        var reused = await operators.PostAsJsonAsync("/fleet/appliances", new { id = "a1", site = "isp1", code = Code });
        Assert.Equal(HttpStatusCode.Conflict, reused.StatusCode);
    }

    [Fact]
    public async Task Enroll_WithAnExpiredCode_OrABadRequest_IsRefused()
    {
        await using var h = await SteeringHarness.StartAsync(withOrigin: false);
        var code = await AddApplianceAsync(h, "a1", "isp1");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = new CertificateRequest("CN=a1", key, HashAlgorithmName.SHA256).CreateSigningRequestPem();

        // A request for a key the caller does not hold (signed by another key) proves nothing: refused.
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var borrowed = new CertificateRequest(new X500DistinguishedName("CN=a1"), PublicKey.CreateFromSubjectPublicKeyInfo(key.ExportSubjectPublicKeyInfo(), out _), HashAlgorithmName.SHA256)
            .CreateSigningRequestPem(X509SignatureGenerator.CreateForECDsa(other));
        var forged = await Assert.ThrowsAsync<RpcException>(() => EnrollClient(h).EnrollAsync(new EnrollRequest { Code = code, CsrPem = borrowed }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, forged.StatusCode);
        Assert.Contains("PKCS#10", forged.Status.Detail, StringComparison.Ordinal);

        h.Time.Advance(TimeSpan.FromMinutes(61));
        var expired = await Assert.ThrowsAsync<RpcException>(() => EnrollClient(h).EnrollAsync(new EnrollRequest { Code = code, CsrPem = csr }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, expired.StatusCode);
        Assert.Contains("expired", expired.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RemovedAppliance_CannotHeartbeat_AndLeavesPlayAtOnce()
    {
        await using var h = await SteeringHarness.StartAsync();
        var code = await AddApplianceAsync(h, "a1", "isp1");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var reply = await EnrollClient(h).EnrollAsync(new EnrollRequest { Code = code, CsrPem = new CertificateRequest("CN=a1", key, HashAlgorithmName.SHA256).CreateSigningRequestPem() });
        using var certificate = ControlPlaneIdentityTests.WithKey(reply.CertificatePem, key);
        var control = new ControlPlaneGrpc.ControlPlaneClient(h.ChannelWith(certificate));
        await control.RegisterAsync(new RegisterRequest { InstanceId = "i1", Identity = new ApplianceIdentity { ApplianceId = "a1", Site = "isp1", PublicUrl = "http://127.0.0.1:8401", CapacityBytesPerSecond = 1_000_000_000, MaxConnections = 100 } });
        Assert.True((await control.HeartbeatAsync(new HeartbeatRequest { ApplianceId = "a1", InstanceId = "i1", Inventory = SteeringHarness.FullInventory(1, SteeringHarness.Title) })).Known);
        Assert.Contains("a1", await h.PlayPathwaysAsync());

        using var operators = h.OperatorClient(h.OperatorToken);
        Assert.Equal(HttpStatusCode.OK, (await operators.DeleteAsync("/fleet/appliances/a1")).StatusCode);
        Assert.DoesNotContain("a1", await h.PlayPathwaysAsync());

        // Same open connection: the next heartbeat is refused. A new connection fails in the handshake.
        var refused = await Assert.ThrowsAsync<RpcException>(() => control.HeartbeatAsync(new HeartbeatRequest { ApplianceId = "a1", InstanceId = "i1" }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        var fresh = new ControlPlaneGrpc.ControlPlaneClient(h.ChannelWith(certificate));
        refused = await Assert.ThrowsAsync<RpcException>(() => fresh.RegisterAsync(new RegisterRequest { InstanceId = "i2", Identity = new ApplianceIdentity { ApplianceId = "a1", Site = "isp1", PublicUrl = "http://127.0.0.1:8401", CapacityBytesPerSecond = 1 } }).ResponseAsync);
        ControlPlaneIdentityTests.AssertHandshakeFailed(refused);
        Assert.DoesNotContain("a1", await h.PlayPathwaysAsync());

        // Removing it again (as the CLI does on every replica) is no error, and says so; an id
        // steering never heard of is still 404.
        var again = await operators.DeleteAsync("/fleet/appliances/a1");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var body = await again.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("a1", body.GetProperty("removed").GetString());
        Assert.True(body.GetProperty("alreadyRemoved").GetBoolean());
        var unknown = await operators.DeleteAsync("/fleet/appliances/a9");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("appliance 'a9' is not enrolled", (await unknown.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task Renew_ForTheFillControllersCertificate_KeepsItsIdentity_ForClientAndServerUse()
    {
        await using var h = await SteeringHarness.StartAsync(withOrigin: false);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var current = h.IssueCertificate(FleetIdentity.FillController);
        var reply = await new Enrollment.EnrollmentClient(h.ChannelWith(current))
            .RenewAsync(new RenewRequest { CsrPem = new CertificateRequest("CN=fill-controller", key, HashAlgorithmName.SHA256).CreateSigningRequestPem() });
        Assert.Equal("openconnect://fill-controller", reply.Identity);
        using var renewed = X509Certificate2.CreateFromPem(reply.CertificatePem);
        Assert.NotEqual(current.SerialNumber, renewed.SerialNumber);
        // The fill controller serves its control listener with it: server use as well as client use.
        Assert.Equal(FleetIdentity.FillController, h.Fleet.Trust.CheckClient(renewed).Identity);
        Assert.Equal(FleetIdentity.FillController, h.Fleet.Trust.CheckServer(renewed).Identity);
    }

    [Fact]
    public async Task Renew_OverMutualTls_KeepsTheIdentity_WithANewSerial()
    {
        await using var h = await SteeringHarness.StartAsync(withOrigin: false);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var first = h.IssueCertificate(FleetIdentity.Appliance("isp1", "a1"));
        var reply = await new Enrollment.EnrollmentClient(h.ChannelWith(first))
            .RenewAsync(new RenewRequest { CsrPem = new CertificateRequest("CN=evil", key, HashAlgorithmName.SHA256).CreateSigningRequestPem() });
        using var renewed = X509Certificate2.CreateFromPem(reply.CertificatePem);
        Assert.Equal(FleetIdentity.Appliance("isp1", "a1"), FleetIdentity.FromCertificate(renewed));
        Assert.NotEqual(first.SerialNumber, renewed.SerialNumber);
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), renewed.PublicKey.ExportSubjectPublicKeyInfo());

        // Renewal is not offered on the enrollment listener (no client certificate there).
        var failure = await Assert.ThrowsAsync<RpcException>(() => EnrollClient(h).RenewAsync(new RenewRequest { CsrPem = "x" }).ResponseAsync);
        Assert.Equal(StatusCode.Unimplemented, failure.StatusCode);
    }

    [Fact]
    public async Task Operator_IssuesServiceCertificates_ButNeverApplianceOrSteeringOnes()
    {
        await using var h = await SteeringHarness.StartAsync(withOrigin: false);
        using var operators = h.OperatorClient(h.OperatorToken);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = new CertificateRequest("CN=fill", key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
        var response = await operators.PostAsJsonAsync("/fleet/certificates", new { identity = "openconnect://fill-controller", csr });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        using var certificate = X509Certificate2.CreateFromPem(body.GetProperty("certificate").GetString()!);
        Assert.Equal(FleetIdentity.FillController, h.Fleet.Trust.CheckClient(certificate).Identity);
        // A service also serves TLS with its certificate (the fill controller's fleet listener); an operator never does.
        Assert.Equal(FleetIdentity.FillController, h.Fleet.Trust.CheckServer(certificate).Identity);
        var issued = await operators.PostAsJsonAsync("/fleet/certificates", new { identity = "openconnect://operator/alice", csr });
        using var operatorCertificate = X509Certificate2.CreateFromPem((await issued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("certificate").GetString()!);
        Assert.Equal(FleetIdentity.Operator("alice"), h.Fleet.Trust.CheckClient(operatorCertificate).Identity);
        Assert.Null(h.Fleet.Trust.CheckServer(operatorCertificate).Identity);

        foreach (var identity in new[] { "openconnect://appliance/isp1/a1", "openconnect://steering", "https://example.com" })
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await operators.PostAsJsonAsync("/fleet/certificates", new { identity, csr })).StatusCode);
        }
    }

    [Fact]
    public async Task Appliance_EnrollsWithItsCode_KeepsItsKey_RestartsWithoutACode_AndRenews()
    {
        await using var h = await SteeringHarness.StartAsync(withOrigin: false, "--Steering:Fleet:CertificateLifetime=00:00:15");
        // Certificates' validity must follow the appliance's (real) clock here: keep steering's fake clock on real time.
        using var clock = new CancellationTokenSource();
        var ticking = Task.Run(async () =>
        {
            while (!clock.IsCancellationRequested)
            {
                h.Time.SetUtcNow(DateTimeOffset.UtcNow);
                await Task.Delay(50);
            }
        });
        var code = await AddApplianceAsync(h, "oca-1", "isp1");
        using var state = new TempDirectory("openconnect-enroll");
        var codeFile = state.Combine("code");
        await File.WriteAllTextAsync(codeFile, code + "\n");
        var caFile = Path.Combine(h.Fleet.Directory, "ca.crt");
        var fleetDirectory = state.Combine("fleet");
        string[] settings =
        [
            $"--Appliance:Cache:Directory={state.Combine("cache")}",
            "--Appliance:Upstream:AllowUnsignedContent=true",
            "--Appliance:ControlUrl=https://127.0.0.1:0",
            "--Appliance:Id=oca-1",
            "--Appliance:Site=isp1",
            "--Appliance:UnsignedNetworks:0=127.0.0.0/8",
            $"--Appliance:Steering:Url={h.ControlAddress}",
            "--Appliance:Steering:HeartbeatInterval=00:00:00.2",
            $"--Appliance:Fleet:Directory={fleetDirectory}",
            $"--Appliance:Fleet:CaCertificateFile={caFile}",
            $"--Appliance:Fleet:EnrollUrl={h.EnrollAddress}",
            $"--Appliance:Fleet:EnrollmentCodeFile={codeFile}",
            "--Appliance:Fleet:RenewRetryInterval=00:00:00.5",
        ];

        string serial;
        await using (var appliance = await RunningRole.StartAsync(ApplianceHost.Build, settings))
        {
            var client = appliance.Services.GetRequiredService<ControlPlaneClient>();
            await Until(() => client.HeartbeatsAcknowledged > 0, "the enrolled appliance's first heartbeat");
            Assert.NotNull(h.Steering.Services.GetRequiredService<ControlPlane.ApplianceRegistry>().Find("oca-1"));

            // The key was made on the appliance, is private to it, and only its public half went out.
            var keyPath = Path.Combine(fleetDirectory, "appliance.key");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyPath));
            using var key = ECDsa.Create();
            key.ImportFromPem(await File.ReadAllTextAsync(keyPath));
            using var certificate = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(Path.Combine(fleetDirectory, "appliance.crt")));
            Assert.Equal(key.ExportSubjectPublicKeyInfo(), certificate.PublicKey.ExportSubjectPublicKeyInfo());
            var privateScalar = Convert.ToBase64String(key.ExportParameters(includePrivateParameters: true).D!);
            foreach (var file in Directory.EnumerateFiles(h.State.Path, "*", SearchOption.AllDirectories).Where(f => !f.StartsWith(state.Path, StringComparison.Ordinal)))
            {
                Assert.DoesNotContain(privateScalar, await File.ReadAllTextAsync(file), StringComparison.Ordinal);
            }

            serial = certificate.SerialNumber;
        }

        // A restart reuses key and certificate: the spent code is not needed (nor would it work).
        await File.WriteAllTextAsync(codeFile, "spent\n");
        await using (var appliance = await RunningRole.StartAsync(ApplianceHost.Build, settings))
        {
            var client = appliance.Services.GetRequiredService<ControlPlaneClient>();
            await Until(() => client.HeartbeatsAcknowledged > 0, "a heartbeat after restart");
            using (var same = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(Path.Combine(fleetDirectory, "appliance.crt"))))
            {
                Assert.Equal(serial, same.SerialNumber);
            }

            // Renewal at two thirds of the 15 s lifetime, over the mutual-TLS connection; heartbeats go on.
            using var key = ECDsa.Create();
            key.ImportFromPem(await File.ReadAllTextAsync(Path.Combine(fleetDirectory, "appliance.key")));
            await Until(() => client.CertificateRenewals > 0, "a certificate renewal");
            using var renewed = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(Path.Combine(fleetDirectory, "appliance.crt")));
            Assert.NotEqual(serial, renewed.SerialNumber);
            Assert.Equal(key.ExportSubjectPublicKeyInfo(), renewed.PublicKey.ExportSubjectPublicKeyInfo());
            var before = client.HeartbeatsAcknowledged;
            await Until(() => client.HeartbeatsAcknowledged > before + 2, "heartbeats after renewal");
            Assert.Equal(1, client.CertificateRenewals);
        }

        await clock.CancelAsync();
        await ticking;
    }

    [Fact]
    public async Task Appliance_WithAUsedOrWrongCode_StopsAtStart_WithTheReason()
    {
        await using var h = await SteeringHarness.StartAsync(withOrigin: false);
        using var state = new TempDirectory("openconnect-enroll");
        string[] Settings(string code) =>
        [
            $"--Appliance:Cache:Directory={state.Combine("cache")}",
            "--Appliance:Upstream:AllowUnsignedContent=true",
            "--Appliance:ControlUrl=https://127.0.0.1:0",
            "--Appliance:Id=oca-1",
            "--Appliance:Site=isp1",
            $"--Appliance:Steering:Url={h.ControlAddress}",
            $"--Appliance:Fleet:Directory={state.Combine("fleet")}",
            $"--Appliance:Fleet:CaCertificateFile={Path.Combine(h.Fleet.Directory, "ca.crt")}",
            $"--Appliance:Fleet:EnrollUrl={h.EnrollAddress}",
            $"--Appliance:Fleet:EnrollmentCode={code}",
        ];

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => RunningRole.StartAsync(ApplianceHost.Build, Settings("0000000000000000")));
        Assert.Contains("enrollment at", failure.Message, StringComparison.Ordinal);
        Assert.Contains("not valid", failure.Message, StringComparison.Ordinal);

        // No code at all: it says what to set.
        failure = await Assert.ThrowsAnyAsync<Exception>(() => RunningRole.StartAsync(ApplianceHost.Build, Settings("")));
        Assert.Contains("Appliance:Fleet:EnrollmentCodeFile", failure.Message, StringComparison.Ordinal);

        // A certificate for another appliance (code for oca-2): refused at start, naming both.
        var code = await AddApplianceAsync(h, "oca-2", "isp1");
        failure = await Assert.ThrowsAnyAsync<Exception>(() => RunningRole.StartAsync(ApplianceHost.Build, Settings(code)));
        Assert.Contains("openconnect://appliance/isp1/oca-2", failure.Message, StringComparison.Ordinal);
        Assert.Contains("openconnect://appliance/isp1/oca-1", failure.Message, StringComparison.Ordinal);
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }
}
