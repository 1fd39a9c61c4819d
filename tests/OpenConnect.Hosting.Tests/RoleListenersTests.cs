using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Testing;

namespace OpenConnect.Hosting.Tests;

public sealed class RoleListenersTests
{
    [Fact]
    public async Task HealthAndMetrics_AnswerOnlyOnTheManagementListener_WhichServesNothingElse()
    {
        await using var role = await RunningRole.StartAsync(args => KitRole.Build(args, KitRole.Spec(withControl: false)));
        using var data = role.CreateClient();
        using var management = role.CreateManagementClient();
        Assert.NotEqual(role.BaseAddress.Port, role.ManagementAddress.Port);

        Assert.Equal(HttpStatusCode.OK, (await management.GetAsync("/healthz")).StatusCode);
        using var metrics = await management.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.True(PrometheusText.Parse(await metrics.Content.ReadAsStringAsync()).Families.ContainsKey("openconnect_build_info"));
        Assert.Equal(HttpStatusCode.NotFound, (await management.GetAsync("/hello")).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await data.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await data.GetAsync("/metrics")).StatusCode);
        Assert.Equal("hello", await data.GetStringAsync("/hello"));
    }

    [Fact]
    public async Task ControlListener_IsHttp2_AndServesOnlyTheControlPaths()
    {
        await using var role = await RunningRole.StartAsync(args => KitRole.Build(args, KitRole.Spec(withControl: true)));
        var listeners = role.Services.GetRequiredService<RoleListeners>();
        Assert.False(listeners.ControlUsesTls);
        using var control = Http2Client(listeners.ControlAddress);
        using var data = role.CreateClient();

        Assert.Equal("pong", await control.GetStringAsync("/control/ping"));
        Assert.Equal(HttpStatusCode.NotFound, (await control.GetAsync("/hello")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await control.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await data.GetAsync("/control/ping")).StatusCode);
        Assert.Equal("hello", await data.GetStringAsync("/hello"));

        // HTTP/1.1 is not spoken there (gRPC needs HTTP/2 prior knowledge on a cleartext listener).
        using var http1 = new HttpClient { BaseAddress = listeners.ControlAddress };
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => http1.GetStringAsync("/control/ping"));
    }

    [Fact]
    public async Task ControlListener_WithControlTls_RequiresAClientCertificateFromTheConfiguredCa()
    {
        using var dir = new TempDirectory();
        using var pki = TestPki.Create();
        pki.WriteServer(dir.Path);
        await using var role = await RunningRole.StartAsync(
            args => KitRole.Build(args, KitRole.Spec(withControl: true)),
            $"--ControlTls:CertificateFile={dir.Combine("server.pem")}",
            $"--ControlTls:KeyFile={dir.Combine("server.key")}",
            $"--ControlTls:CaCertificateFile={dir.Combine("ca.pem")}");
        var listeners = role.Services.GetRequiredService<RoleListeners>();
        Assert.True(listeners.ControlUsesTls);
        Assert.Equal(Uri.UriSchemeHttps, listeners.ControlAddress.Scheme);

        using (var enrolled = TlsClient(listeners.ControlAddress, pki.Ca, pki.Client))
        {
            Assert.Equal("pong", await enrolled.GetStringAsync("/control/ping"));
            Assert.Equal(HttpStatusCode.NotFound, (await enrolled.GetAsync("/hello")).StatusCode);
        }

        using (var anonymous = TlsClient(listeners.ControlAddress, pki.Ca, clientCertificate: null))
        {
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => anonymous.GetStringAsync("/control/ping"));
        }

        using (var foreign = TlsClient(listeners.ControlAddress, pki.Ca, pki.ForeignClient))
        {
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => foreign.GetStringAsync("/control/ping"));
        }

        // A cleartext HTTP/2 client gets nowhere either.
        using var plaintext = Http2Client(new UriBuilder(listeners.ControlAddress) { Scheme = Uri.UriSchemeHttp }.Uri);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => plaintext.GetStringAsync("/control/ping"));
    }

    [Fact]
    public async Task ControlTls_WithAMissingFile_StopsTheStart_NamingTheKey()
    {
        using var dir = new TempDirectory();
        var failure = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => RunningRole.StartAsync(
            args => KitRole.Build(args, KitRole.Spec(withControl: true)),
            $"--ControlTls:CertificateFile={dir.Combine("absent.pem")}"));
        var message = RoleHost.DescribeStartupFailure(failure);
        Assert.Contains("ControlTls:CertificateFile", message, StringComparison.Ordinal);
        Assert.Contains("ControlTls:KeyFile", message, StringComparison.Ordinal);
        Assert.Contains("ControlTls:CaCertificateFile", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Wildcard_ListensOnIPv4AndIPv6()
    {
        await using var role = await RunningRole.StartAsync(args => KitRole.Build(args, KitRole.Spec(withControl: false)), "--urls", "http://*:0");
        var port = role.BaseAddress.Port;
        using var client = new HttpClient();
        Assert.Equal("hello", await client.GetStringAsync($"http://127.0.0.1:{port}/hello"));
        Assert.Equal("hello", await client.GetStringAsync($"http://[::1]:{port}/hello"));
    }

    [Fact]
    public async Task IPv6Loopback_IsAListenAddress()
    {
        await using var role = await RunningRole.StartAsync(args => KitRole.Build(args, KitRole.Spec(withControl: false)), "--urls", "http://[::1]:0", "--Management:Url=http://[::1]:0");
        Assert.Equal("[::1]", role.BaseAddress.Host);
        Assert.Equal("[::1]", role.ManagementAddress.Host);
        using var client = role.CreateClient();
        Assert.Equal("hello", await client.GetStringAsync("/hello"));
        Assert.Equal(HttpStatusCode.OK, (await role.GetManagementAsync("/healthz")).StatusCode);
    }

    private static HttpClient Http2Client(Uri address) => new()
    {
        BaseAddress = address,
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(30),
    };

    private static HttpClient TlsClient(Uri address, X509Certificate2 ca, X509Certificate2? clientCertificate)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = clientCertificate is null ? null : [clientCertificate],
                RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is X509Certificate2 server && TestPki.ChainsTo(server, ca),
            },
        };
        return new HttpClient(handler)
        {
            BaseAddress = address,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    /// <summary>A CA (ECDSA P-256) with a server and a client certificate, and a client certificate from another CA.</summary>
    private sealed class TestPki : IDisposable
    {
        private readonly ECDsa _serverKey;

        private TestPki(X509Certificate2 ca, X509Certificate2 server, ECDsa serverKey, X509Certificate2 client, X509Certificate2 foreignClient)
        {
            Ca = ca;
            Server = server;
            _serverKey = serverKey;
            Client = client;
            ForeignClient = foreignClient;
        }

        public X509Certificate2 Ca { get; }

        public X509Certificate2 Server { get; }

        public X509Certificate2 Client { get; }

        public X509Certificate2 ForeignClient { get; }

        public static TestPki Create()
        {
            var (ca, caKey) = Authority("CN=test fleet CA");
            var (foreignCa, foreignKey) = Authority("CN=someone else's CA");
            var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var server = Leaf(ca, serverKey, "CN=control", "1.3.6.1.5.5.7.3.1", san: true);
            using var clientKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var client = WithKey(Leaf(ca, clientKey, "CN=appliance-1", "1.3.6.1.5.5.7.3.2", san: false), clientKey);
            using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var foreign = WithKey(Leaf(foreignCa, otherKey, "CN=appliance-1", "1.3.6.1.5.5.7.3.2", san: false), otherKey);
            caKey.Dispose();
            foreignKey.Dispose();
            foreignCa.Dispose();
            return new TestPki(ca, server, serverKey, client, foreign);
        }

        public static bool ChainsTo(X509Certificate2 certificate, X509Certificate2 ca)
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(certificate);
        }

        public void WriteServer(string directory)
        {
            File.WriteAllText(Path.Combine(directory, "ca.pem"), Ca.ExportCertificatePem());
            File.WriteAllText(Path.Combine(directory, "server.pem"), Server.ExportCertificatePem());
            File.WriteAllText(Path.Combine(directory, "server.key"), _serverKey.ExportPkcs8PrivateKeyPem());
        }

        public void Dispose()
        {
            Ca.Dispose();
            Server.Dispose();
            _serverKey.Dispose();
            Client.Dispose();
            ForeignClient.Dispose();
        }

        private static (X509Certificate2, ECDsa) Authority(string subject)
        {
            var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            var now = DateTimeOffset.UtcNow;
            return (request.CreateSelfSigned(now.AddHours(-1), now.AddDays(1)), key);
        }

        private static X509Certificate2 Leaf(X509Certificate2 ca, ECDsa key, string subject, string usage, bool san)
        {
            var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
            if (san)
            {
                var names = new SubjectAlternativeNameBuilder();
                names.AddIpAddress(IPAddress.Loopback);
                request.CertificateExtensions.Add(names.Build());
            }

            var now = DateTimeOffset.UtcNow;
            // The self-signed CA certificate carries its key, so it can sign.
            return request.Create(ca, now.AddMinutes(-5), now.AddHours(12), RandomNumberGenerator.GetBytes(12));
        }

        private static X509Certificate2 WithKey(X509Certificate2 certificate, ECDsa key)
        {
            // Through PKCS#12, so the TLS stack can use the key after the ephemeral handle is gone.
            using var withKey = certificate.CopyWithPrivateKey(key);
            certificate.Dispose();
            return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        }
    }
}
