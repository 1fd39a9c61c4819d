using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using OpenConnect.Contracts.Fleet.V1;
using OpenConnect.Contracts.Steering.V1;
using OpenConnect.Testing.Fleet;

namespace OpenConnect.Fleet.Tests;

/// <summary>
/// The control plane's trust on the bed: steering's control listener takes fleet certificates
/// only, a certificate acts only as the appliance it names, and an appliance the operator removes
/// is revoked at once. The calls come from other hosts of the bed, made with Node's own http2/tls
/// (<c>fleet-grpc.js</c>), as a foreign box on the network would make them.
/// </summary>
[Collection(FleetCollection.Name)]
public sealed class FleetSecurityTests(FleetFixture fleet)
{
    private const string RegisterPath = "/openconnect.steering.v1.ControlPlane/Register";
    private const string HeartbeatPath = "/openconnect.steering.v1.ControlPlane/Heartbeat";
    private const string EnrollPath = "/openconnect.fleet.v1.Enrollment/Enroll";
    private const int GrpcOk = 0;
    private const int GrpcPermissionDenied = 7;

    private FleetBed Bed => fleet.Bed;

    private string ControlUrl => FleetLaunch.SteeringControlUrl(Bed);

    [FleetFact]
    public async Task ForgedRegister_FromAClientHost_WithoutACertificate_FailsTheHandshake_AndNeverReachesPlay()
    {
        await fleet.ResetAsync();
        var forgedUrl = $"http://{Bed.Host("ca").Ipv4}:9";
        foreach (var id in (string[])["evil", "a1"])
        {
            var register = await Bed.GrpcAsync("ca", ControlUrl, RegisterPath, Forged(id, "site-a", forgedUrl));
            // Steering's TLS authentication of the client fails and it drops the connection before
            // any HTTP/2 exchange: the caller gets no response at all (no gRPC status to read).
            Assert.False(register.Answered, $"steering answered a Register for '{id}' without a client certificate: {register}");
            Assert.False(string.IsNullOrEmpty(register.Error), register.ToString());

            var heartbeat = await Bed.GrpcAsync("ca", ControlUrl, HeartbeatPath, new HeartbeatRequest { ApplianceId = id, InstanceId = "forged", Sequence = 1 });
            Assert.False(heartbeat.Answered, $"steering answered a Heartbeat for '{id}' without a client certificate: {heartbeat}");
        }

        // A plaintext HTTP/2 client gets no answer at all from the TLS-only control listener.
        var plaintext = await Bed.CurlAsync("ca", $"http://{Bed.Host("steering").Ipv4}:{FleetLaunch.SteeringControlPort}{RegisterPath}", "POST", ["--http2-prior-knowledge", "-H", "Content-Type: application/grpc"]);
        Assert.Equal(0, plaintext.Status);

        // Longer than a heartbeat interval: a registration that had got through would be offered by now.
        await Task.Delay(TimeSpan.FromSeconds(2));
        await AssertPlaysUntouchedAsync(forgedUrl);
    }

    [FleetFact]
    public async Task ForgedRegister_WithTheCertificateOfAnotherAppliance_IsRefused_AndNeverReachesPlay()
    {
        await fleet.ResetAsync();
        // A real fleet certificate, enrolled the production way on the foreign host itself, for an appliance "intruder" of site-a.
        var code = await Bed.AddApplianceAsync("intruder", "site-a");
        try
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var csr = new CertificateRequest(new X500DistinguishedName("CN=intruder"), key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
            var enrolled = await Bed.GrpcAsync("ca", FleetLaunch.SteeringEnrollUrl(Bed), EnrollPath, new EnrollRequest { Code = code, CsrPem = csr });
            Assert.True(enrolled.Answered && enrolled.GrpcStatus == GrpcOk, $"enrollment of intruder failed: {enrolled}");
            var reply = CertificateReply.Parser.ParseFrom(enrolled.Reply);
            Assert.Equal("openconnect://appliance/site-a/intruder", reply.Identity);
            var certificateFile = Bed.State.Combine("intruder.crt");
            var keyFile = Bed.State.Combine("intruder.key");
            await File.WriteAllTextAsync(certificateFile, reply.CertificatePem);
            await File.WriteAllTextAsync(keyFile, key.ExportPkcs8PrivateKeyPem());

            var forgedUrl = $"http://{Bed.Host("ca").Ipv4}:9";
            foreach (var (id, site) in (ValueTuple<string, string>[])[("a1", "site-a"), ("b1", "site-b")])
            {
                var register = await Bed.GrpcAsync("ca", ControlUrl, RegisterPath, Forged(id, site, forgedUrl), certificateFile, keyFile);
                Assert.True(register.Answered, $"the intruder's certificate did not get through TLS: {register}");
                Assert.True(register.GrpcStatus == GrpcPermissionDenied, $"Register as {id} with intruder's certificate: {register}");
                Assert.Contains("may not act as", register.GrpcMessage, StringComparison.Ordinal);

                var heartbeat = await Bed.GrpcAsync("ca", ControlUrl, HeartbeatPath, new HeartbeatRequest { ApplianceId = id, InstanceId = "forged", Sequence = 1 }, certificateFile, keyFile);
                Assert.True(heartbeat.GrpcStatus == GrpcPermissionDenied, $"Heartbeat as {id} with intruder's certificate: {heartbeat}");
            }

            await Task.Delay(TimeSpan.FromSeconds(2));
            await AssertPlaysUntouchedAsync(forgedUrl);
        }
        finally
        {
            await Bed.OperatorAsync("DELETE", "/fleet/appliances/intruder");
        }
    }

    [FleetFact]
    public async Task RemovedAppliance_CannotHeartbeat_AndLeavesThePlaysAtOnce()
    {
        await fleet.ResetAsync();
        Assert.Contains("a2", FleetBed.PathwayIds(await Bed.PlayAsync("ca", fleet.Title)));

        await Bed.RemoveApplianceAsync("a2");
        // At once: the very next play decision no longer offers it.
        Assert.DoesNotContain("a2", FleetBed.PathwayIds(await Bed.PlayAsync("ca", fleet.Title)));
        var roster = await Bed.OperatorAsync("GET", "/fleet/appliances");
        Assert.Equal(200, roster.Status);
        Assert.DoesNotContain("\"a2\"", roster.Body, StringComparison.Ordinal);

        // Its own certificate, from its own host, no longer gets through the control listener's handshake.
        var directory = Bed.ApplianceFleetDirectory("a2");
        var heartbeat = await Bed.GrpcAsync("a2", ControlUrl, HeartbeatPath, new HeartbeatRequest { ApplianceId = "a2", InstanceId = "revoked", Sequence = 1 }, Path.Combine(directory, "appliance.crt"), Path.Combine(directory, "appliance.key"));
        Assert.False(heartbeat.Answered, $"steering answered a heartbeat under a2's revoked certificate: {heartbeat}");

        // The appliance itself keeps running and keeps trying; several heartbeat intervals later it is still out.
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.True(Bed.Appliances["a2"].Running, Bed.Appliances["a2"].Tail());
        Assert.DoesNotContain("a2", FleetBed.PathwayIds(await Bed.PlayAsync("ca", fleet.Title)));
        Assert.Equal(3, await Bed.EligibleAppliancesAsync());
    }

    [FleetFact]
    public async Task OperatorCalls_FromAClientHost_WithoutTheOperatorCredential_Get401_WithAWrongOne403_AndChangeNothing()
    {
        await fleet.ResetAsync();
        var before = await Bed.OperatorAsync("GET", "/fleet/appliances");
        Assert.Equal(200, before.Status);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = new CertificateRequest(new X500DistinguishedName("CN=rogue"), key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
        (string Method, string Path, object? Json)[] calls =
        [
            ("GET", "/fleet/appliances", null),
            ("POST", "/fleet/appliances", new { id = "rogue", site = "site-a" }),
            ("DELETE", "/fleet/appliances/a1", null),
            ("POST", "/fleet/certificates", new { identity = "openconnect://operator/rogue", csr }),
        ];
        var wrongToken = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        foreach (var (method, path, json) in calls)
        {
            var none = await ForeignOperatorCallAsync(method, path, json, authorization: null);
            Assert.True(none.Status == 401, $"{method} {path} without a credential from a client host answered {none.Status}: {none.Body}");
            Assert.Contains("WWW-Authenticate: Bearer", none.Body, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("operator credential required", none.Body, StringComparison.Ordinal);

            // A wrong bearer token on every call; another scheme once.
            foreach (var authorization in method == "GET" ? [$"Bearer {wrongToken}", "Basic b3BlcmF0b3I6b3BlcmF0b3I="] : (string[])[$"Bearer {wrongToken}"])
            {
                var wrong = await ForeignOperatorCallAsync(method, path, json, authorization);
                Assert.True(wrong.Status == 403, $"{method} {path} with '{authorization}' from a client host answered {wrong.Status}: {wrong.Body}");
                Assert.Contains("operator credential refused", wrong.Body, StringComparison.Ordinal);
                Assert.DoesNotContain("BEGIN CERTIFICATE", wrong.Body, StringComparison.Ordinal);
                Assert.DoesNotContain("\"code\"", wrong.Body, StringComparison.Ordinal);
            }
        }

        // Steering's player port does not serve the operator calls at all.
        var onPlayerPort = await Bed.CurlAsync("ca", $"{Bed.SteeringUrl}/fleet/appliances", "GET", ["-H", $"Authorization: Bearer {wrongToken}"]);
        Assert.Equal(404, onPlayerPort.Status);

        // Nothing changed: the same appliances and certificates, a1 still offered, no 'rogue' anywhere.
        var after = await Bed.OperatorAsync("GET", "/fleet/appliances");
        Assert.Equal(200, after.Status);
        Assert.Equal(before.Body, after.Body);
        Assert.DoesNotContain("rogue", after.Body, StringComparison.Ordinal);
        Assert.Equal(["a1", "a2"], FleetBed.PathwayIds(await Bed.PlayAsync("ca", fleet.Title)).Take(2).Order());
        Assert.Equal(Bed.Appliances.Count, await Bed.EligibleAppliancesAsync());
    }

    [FleetFact]
    public async Task AnExpiredOrNotYetValidCertificate_CannotRegisterOrHeartbeat_AndNeverReachesPlay()
    {
        await fleet.ResetAsync();
        var identity = "openconnect://appliance/site-a/a1";
        var now = DateTimeOffset.UtcNow;
        // Inside the CA's own validity (it was made when the bed's steering first started).
        DateTimeOffset authoritySince;
        using (var authority = X509CertificateLoader.LoadCertificateFromFile(Bed.CaCertificateFile))
        {
            authoritySince = new DateTimeOffset(authority.NotBefore.ToUniversalTime());
        }

        Assert.True(authoritySince < now.AddSeconds(-10), $"the fleet CA is valid only since {authoritySince:O}");
        var valid = IssueFromBedAuthority("a1-valid", identity, authoritySince, now.AddDays(1));
        var expired = IssueFromBedAuthority("a1-expired", identity, authoritySince, now.AddSeconds(-5));
        var early = IssueFromBedAuthority("a1-early", identity, now.AddDays(1), now.AddDays(2));

        // The same issuance inside its validity gets through the handshake and the identity check
        // (an unknown instance: steering answers Known=false and changes nothing).
        var control = await Bed.GrpcAsync("a1", ControlUrl, HeartbeatPath, new HeartbeatRequest { ApplianceId = "a1", InstanceId = "probe", Sequence = 1 }, valid.Certificate, valid.Key);
        Assert.True(control.Answered && control.GrpcStatus == GrpcOk, $"a valid certificate issued the same way was refused: {control}");
        Assert.False(HeartbeatReply.Parser.ParseFrom(control.Reply).Known);

        var forgedUrl = $"http://{Bed.Host("a1").Ipv4}:9";
        foreach (var (what, (certificate, keyFile)) in (ValueTuple<string, (string, string)>[])[("expired", expired), ("not yet valid", early)])
        {
            var register = await Bed.GrpcAsync("a1", ControlUrl, RegisterPath, Forged("a1", "site-a", forgedUrl), certificate, keyFile);
            AssertRefusedAtTheHandshake(register, $"Register with a1's {what} certificate");
            var heartbeat = await Bed.GrpcAsync("a1", ControlUrl, HeartbeatPath, new HeartbeatRequest { ApplianceId = "a1", InstanceId = "forged", Sequence = 1 }, certificate, keyFile);
            AssertRefusedAtTheHandshake(heartbeat, $"Heartbeat with a1's {what} certificate");
        }

        await Task.Delay(TimeSpan.FromSeconds(2));
        await AssertPlaysUntouchedAsync(forgedUrl);
        Assert.Equal(Bed.Appliances.Count, await Bed.EligibleAppliancesAsync());
    }

    [FleetFact]
    public async Task APlaintextHttp2Client_GetsNoGrpcAnswerFromTheControlPort()
    {
        await fleet.ResetAsync();
        var body = Bed.State.Combine("h2c-heartbeat.bin");
        var message = new HeartbeatRequest { ApplianceId = "a1", InstanceId = "probe", Sequence = 1 }.ToByteArray();
        await File.WriteAllBytesAsync(body, [0, 0, 0, 0, (byte)message.Length, .. message]);

        // Over TLS with a fleet certificate, the same call on the same port gets a gRPC answer.
        var directory = Bed.ApplianceFleetDirectory("a1");
        var tls = await Bed.GrpcAsync("a1", ControlUrl, HeartbeatPath, new HeartbeatRequest { ApplianceId = "a1", InstanceId = "probe", Sequence = 1 }, Path.Combine(directory, "appliance.crt"), Path.Combine(directory, "appliance.key"));
        Assert.True(tls.Answered && tls.GrpcStatus == GrpcOk, $"the control port did not answer a TLS call with a1's certificate: {tls}");

        // Plaintext HTTP/2 (h2c, prior knowledge), from a client host and from the appliance's own host.
        foreach (var host in (string[])["ca", "a1"])
        {
            var url = $"http://{Bed.Host("steering").Ipv4}:{FleetLaunch.SteeringControlPort}{HeartbeatPath}";
            var h2c = await Bed.ExecAsync(host, ["curl", "-sS", "--http2-prior-knowledge", "--max-time", "10", "-X", "POST", "-H", "Content-Type: application/grpc", "-H", "TE: trailers", "--data-binary", "@" + body, "-D", "-", "-o", "/dev/null", "-w", "http=%{http_code}", url], TimeSpan.FromSeconds(20));
            var outcome = $"curl exit {h2c.ExitCode}; stdout: {h2c.StandardOutput}; stderr: {h2c.StandardError}";
            // The TLS listener takes the connection preface for a broken ClientHello and closes the
            // connection without a single HTTP/2 frame: curl's stream ends unanswered (18), not a
            // timeout (28), not an HTTP or gRPC status.
            Assert.True(h2c.ExitCode == 18, $"h2c from {host}: expected curl's 'stream was not closed cleanly' (18): {outcome}");
            Assert.Contains("not closed cleanly", h2c.StandardError, StringComparison.Ordinal);
            Assert.Equal("http=000", h2c.StandardOutput.Trim());

            // Plaintext HTTP/1.1 to the same port: the connection is closed with nothing sent back.
            var http1 = await Bed.ExecAsync(host, ["curl", "-sS", "--http1.1", "--max-time", "10", "-D", "-", "-o", "/dev/null", "-w", "http=%{http_code}", url], TimeSpan.FromSeconds(20));
            Assert.True(http1.ExitCode == 52, $"HTTP/1.1 from {host}: expected curl's 'empty reply' (52): exit {http1.ExitCode}; {http1.StandardOutput} {http1.StandardError}");
            Assert.Equal("http=000", http1.StandardOutput.Trim());
        }
    }

    /// <summary>An operator call on steering's enrollment listener from client host <c>ca</c>: TLS trusting the fleet CA, with <paramref name="authorization"/> or none; the answer with its headers.</summary>
    private async Task<(int Status, string Body)> ForeignOperatorCallAsync(string method, string path, object? json, string? authorization)
    {
        List<string> options = ["--cacert", Bed.CaCertificateFile, "-i"];
        if (authorization is not null)
        {
            options.AddRange(["-H", "Authorization: " + authorization]);
        }

        if (json is not null)
        {
            options.AddRange(["-H", "Content-Type: application/json", "--data-binary", System.Text.Json.JsonSerializer.Serialize(json)]);
        }

        return await Bed.CurlAsync("ca", FleetLaunch.SteeringEnrollUrl(Bed) + path, method, options);
    }

    /// <summary>
    /// A certificate for <paramref name="identity"/> signed with the bed's fleet CA key (steering's
    /// <c>ca.key</c>), valid from <paramref name="notBefore"/> to <paramref name="notAfter"/>, with the
    /// extensions steering gives appliance certificates; its PEM files in the bed's state directory.
    /// </summary>
    private (string Certificate, string Key) IssueFromBedAuthority(string name, string identity, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var authority = X509Certificate2.CreateFromPemFile(Bed.CaCertificateFile, Path.Combine(Bed.FleetDirectory, "ca.key"));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2"), new Oid("1.3.6.1.5.5.7.3.1")], false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddUri(new Uri(identity));
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        // Signed through a generator: Create(issuerCertificate, …) would refuse a validity reaching past the issuer's.
        using var signer = authority.GetECDsaPrivateKey() ?? throw new InvalidOperationException("the fleet CA key is not an EC key");
        using var certificate = request.Create(authority.SubjectName, X509SignatureGenerator.CreateForECDsa(signer), notBefore, notAfter, serial);
        var certificateFile = Bed.State.Combine(name + ".crt");
        var keyFile = Bed.State.Combine(name + ".key");
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (certificateFile, keyFile);
    }

    /// <summary>Steering's TLS authentication of the client fails and it drops the connection before any HTTP/2 exchange.</summary>
    private static void AssertRefusedAtTheHandshake(GrpcOutcome outcome, string what)
    {
        Assert.False(outcome.Answered, $"{what}: steering answered ({outcome})");
        Assert.False(string.IsNullOrEmpty(outcome.Error), $"{what}: {outcome}");
    }

    private static RegisterRequest Forged(string id, string site, string publicUrl) => new()
    {
        Identity = new ApplianceIdentity
        {
            ApplianceId = id,
            Site = site,
            PublicUrl = publicUrl,
            CapacityBytesPerSecond = 9_000_000_000_000_000,
            MaxConnections = 1_000_000,
        },
        InstanceId = "forged",
    };

    /// <summary>Site A's plays offer its two real appliances at their own addresses, and nothing at <paramref name="forgedUrl"/>.</summary>
    private async Task AssertPlaysUntouchedAsync(string forgedUrl)
    {
        var play = await Bed.PlayAsync("ca", fleet.Title);
        var text = play.ToString();
        Assert.DoesNotContain(forgedUrl, text, StringComparison.Ordinal);
        Assert.DoesNotContain("evil", text, StringComparison.Ordinal);
        Assert.DoesNotContain("intruder", text, StringComparison.Ordinal);
        foreach (var pathway in play.GetProperty("hls").GetProperty("pathways").EnumerateArray())
        {
            var id = pathway.GetProperty("applianceId").GetString();
            if (id is { Length: > 0 })
            {
                Assert.StartsWith(Bed.Host(id).Url(FleetLaunch.AppliancePort), pathway.GetProperty("url").GetString(), StringComparison.Ordinal);
            }
        }

        Assert.Equal(["a1", "a2"], FleetBed.PathwayIds(play).Take(2).Order());
    }
}
