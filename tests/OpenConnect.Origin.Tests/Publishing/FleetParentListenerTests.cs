using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Contracts.Security;
using OpenConnect.Hosting;
using OpenConnect.Origin.Storage;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Publishing;

/// <summary>
/// The origin's fleet parent listener (<c>Origin:Fleet:ParentUrl</c>): real TLS with the origin's
/// fleet certificate; appliances' and the fill controller's fleet certificates pull unsigned
/// <c>/v/…</c> whatever <c>Origin:ParentNetworks</c> says; everyone else gets no TLS session.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class FleetParentListenerTests : IDisposable
{
    private const string Master = "/v/t1/master.m3u8";

    private readonly TempDirectory _dir = new();
    private readonly FleetCertificates _fleet;
    private readonly FleetCertificates _foreign;

    public FleetParentListenerTests()
    {
        _fleet = FleetCertificates.Create(_dir.Combine("fleet"));
        _foreign = FleetCertificates.Create(_dir.Combine("foreign"));
    }

    [Fact]
    public async Task FleetCertificates_PullUnsigned_OnTheParentListener_OutsideTheParentNetworks()
    {
        await using var origin = await StartAsync(_fleet.WriteService(_dir.Combine("origin-fleet"), "origin", "openconnect://origin"));
        await PublishAsync(origin);
        var listener = origin.Services.GetRequiredService<RoleListeners>().ParentAddress;
        Assert.Equal("https", listener.Scheme);

        // The data listener still goes by ParentNetworks (10.0.0.0/8 leaves out this loopback client).
        using (var data = origin.CreateClient())
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await data.GetAsync(Master)).StatusCode);
        }

        foreach (var identity in new[] { "openconnect://appliance/site-a/a1", "openconnect://fill-controller" })
        {
            using var certificate = _fleet.Issue(identity);
            using var client = Client(listener, certificate, out var seen);
            using var response = await client.GetAsync(Master);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("#EXTM3U\n", await response.Content.ReadAsStringAsync());
            Assert.Equal("openconnect://origin", seen());

            // Only /v/… is served there: no players' signed paths, no catalog, no management.
            var token = UrlToken.Sign(Ed25519SigningKey.Generate(), DateTimeOffset.UtcNow.AddMinutes(5), UrlToken.TitlePrefix("t1"));
            foreach (var path in new[] { UrlToken.SignedPath(token, Master), "/posters/t1.jpg", "/healthz", "/metrics", "/" })
            {
                using var other = await client.GetAsync(path);
                Assert.True(other.StatusCode == HttpStatusCode.NotFound, $"{identity} {path}: {other.StatusCode}");
            }
        }
    }

    [Fact]
    public async Task ParentListener_RefusesClients_WithoutAnAdmittedFleetCertificate()
    {
        await using var origin = await StartAsync(_fleet.WriteService(_dir.Combine("origin-fleet"), "origin", "openconnect://origin"));
        await PublishAsync(origin);
        var listener = origin.Services.GetRequiredService<RoleListeners>().ParentAddress;
        var refused = new (string What, X509Certificate2? Certificate)[]
        {
            ("no certificate", null),
            ("another CA's appliance", _foreign.Issue("openconnect://appliance/site-a/a1")),
            ("expired appliance", _fleet.Issue("openconnect://appliance/site-a/a1", notBefore: DateTimeOffset.UtcNow.AddDays(-10), lifetime: TimeSpan.FromDays(1))),
            ("operator", _fleet.Issue("openconnect://operator/alice")),
            ("steering", _fleet.Issue("openconnect://steering")),
        };
        foreach (var (what, certificate) in refused)
        {
            using (certificate)
            using (var client = Client(listener, certificate, out _))
            {
                HttpStatusCode? answered = null;
                try
                {
                    using var response = await client.GetAsync(Master);
                    answered = response.StatusCode;
                }
                catch (HttpRequestException)
                {
                }

                Assert.True(answered is null, $"{what}: the fleet parent listener answered {answered}");
            }
        }

        // A player with a valid-looking token and no certificate gets no TLS session either.
        using var player = Client(listener, null, out _);
        var token = UrlToken.Sign(Ed25519SigningKey.Generate(), DateTimeOffset.UtcNow.AddMinutes(5), UrlToken.TitlePrefix("t1"));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => player.GetAsync(UrlToken.SignedPath(token, Master)));
    }

    [Fact]
    public async Task ARenewedPairPutInPlace_IsServedToTheNextConnection_WithoutARestart_ARefusedPairIsNot()
    {
        var directory = _dir.Combine("origin-fleet");
        var files = _fleet.WriteService(directory, "origin", "openconnect://origin");
        await using var origin = await StartAsync(files);
        await PublishAsync(origin);
        var listener = origin.Services.GetRequiredService<RoleListeners>().ParentAddress;
        using var appliance = _fleet.Issue("openconnect://appliance/site-a/a1");
        Assert.Equal(SerialOnDisk(files.CertificateFile), await ServedSerialAsync(listener, appliance));

        // The operator puts a renewed certificate (and a new key) where the settings point.
        _fleet.WriteService(directory, "origin", "openconnect://origin");
        var renewed = SerialOnDisk(files.CertificateFile);
        Assert.Equal(renewed, await ServedSerialAsync(listener, appliance));

        // A pair that fails the start's checks (another identity) is not served; the renewed one stays.
        _fleet.WriteService(directory, "origin", "openconnect://appliance/site-a/a9");
        Assert.Equal(renewed, await ServedSerialAsync(listener, appliance));
        Assert.Equal(renewed, await ServedSerialAsync(listener, appliance));
    }

    [Fact]
    public async Task WrongFleetFiles_AreStartupErrors_NamingTheSetting()
    {
        var good = _fleet.WriteService(_dir.Combine("good"), "origin", "openconnect://origin");
        await ExpectStartupErrorAsync(_fleet.WriteService(_dir.Combine("appliance"), "oca", "openconnect://appliance/site-a/a1"), "not openconnect://origin");
        await ExpectStartupErrorAsync(_foreign.WriteService(_dir.Combine("foreign-origin"), "origin", "openconnect://origin"), "does not chain to the fleet CA");

        var expiredDirectory = _dir.Combine("expired");
        Directory.CreateDirectory(expiredDirectory);
        using (var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256))
        using (var expired = _fleet.Issue(key, "openconnect://origin", server: true, notBefore: DateTimeOffset.UtcNow.AddDays(-10), lifetime: TimeSpan.FromDays(1)))
        {
            PrivateFile.Write(Path.Combine(expiredDirectory, "origin.key"), key.ExportPkcs8PrivateKeyPem());
            await File.WriteAllTextAsync(Path.Combine(expiredDirectory, "origin.crt"), expired.ExportCertificatePem());
        }

        await ExpectStartupErrorAsync((Path.Combine(expiredDirectory, "origin.crt"), Path.Combine(expiredDirectory, "origin.key")), "is not valid now");

        var readable = _dir.Combine("readable.key");
        File.Copy(good.KeyFile, readable);
        File.SetUnixFileMode(readable, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        await ExpectStartupErrorAsync((good.CertificateFile, readable), "chmod 600");

        await ExpectStartupErrorAsync((_dir.Combine("missing.crt"), good.KeyFile), "Origin:Fleet:CertificateFile", "file does not exist");
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={_dir.Path}", "--Origin:Fleet:ParentUrl=https://127.0.0.1:0"));
        Assert.Contains("Origin:Fleet:CertificateFile", RoleHost.DescribeStartupFailure(failure));
        failure = await Assert.ThrowsAnyAsync<Exception>(() => StartAsync(good, parentUrl: "http://127.0.0.1:0"));
        Assert.Contains("Origin:Fleet:ParentUrl", RoleHost.DescribeStartupFailure(failure));
    }

    public void Dispose()
    {
        _fleet.Dispose();
        _foreign.Dispose();
        _dir.Dispose();
    }

    private async Task ExpectStartupErrorAsync((string CertificateFile, string KeyFile) files, params string[] expected)
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => StartAsync(files));
        var message = RoleHost.DescribeStartupFailure(failure);
        foreach (var part in expected)
        {
            Assert.Contains(part, message);
        }
    }

    private Task<RunningRole> StartAsync((string CertificateFile, string KeyFile) files, string parentUrl = "https://127.0.0.1:0") => RunningRole.StartAsync(
        OriginHost.Build,
        $"--Origin:DataDirectory={_dir.Path}",
        "--Origin:ParentNetworks:0=10.0.0.0/8",
        $"--Origin:Fleet:ParentUrl={parentUrl}",
        $"--Origin:Fleet:CertificateFile={files.CertificateFile}",
        $"--Origin:Fleet:KeyFile={files.KeyFile}",
        $"--Origin:Fleet:CaCertificateFile={_fleet.CaCertificateFile}");

    private async Task PublishAsync(RunningRole origin)
    {
        var staging = _dir.Combine("staging");
        Directory.CreateDirectory(staging);
        await File.WriteAllTextAsync(Path.Combine(staging, "master.m3u8"), "#EXTM3U\n");
        await origin.Services.GetRequiredService<IObjectStore>().PublishAsync("t1", staging, CancellationToken.None);
    }

    private static string SerialOnDisk(string certificateFile)
    {
        using var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(certificateFile));
        return certificate.SerialNumber;
    }

    /// <summary>The serial of the certificate a new connection to <paramref name="listener"/> is served, after a successful pull on it.</summary>
    private async Task<string?> ServedSerialAsync(Uri listener, X509Certificate2 certificate)
    {
        using var client = Client(listener, certificate, out _, out var serial);
        using var response = await client.GetAsync(Master);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return serial();
    }

    private HttpClient Client(Uri baseAddress, X509Certificate2? certificate, out Func<string?> serverIdentity) => Client(baseAddress, certificate, out serverIdentity, out _);

    /// <summary>A client presenting <paramref name="certificate"/> (or none) that checks the server against the test fleet CA and reports the identity and serial it presented.</summary>
    private HttpClient Client(Uri baseAddress, X509Certificate2? certificate, out Func<string?> serverIdentity, out Func<string?> serverSerial)
    {
        string? seen = null;
        string? serial = null;
        var trust = new Contracts.Fleet.FleetTrust(_fleet.Authority);
        serverIdentity = () => seen;
        serverSerial = () => serial;
        return new HttpClient(new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = certificate is null ? null : [certificate],
                RemoteCertificateValidationCallback = (_, server, _, _) =>
                {
                    seen = trust.CheckServer(server as X509Certificate2).Identity?.ToString();
                    serial = (server as X509Certificate2)?.SerialNumber;
                    return seen is not null;
                },
            },
        })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }
}
