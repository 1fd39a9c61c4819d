using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
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
