using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Hosting;

namespace OpenConnect.FillController.Fleet;

/// <summary>
/// The fill controller's fleet certificate with its key, and the fleet CA it trusts. Loaded at
/// start: a missing file, a key group or others can read, a certificate that is not for the key,
/// not issued by the fleet CA, not valid now, not usable for TLS servers, or naming another
/// identity than <c>openconnect://fill-controller</c> stops the start with a message naming the
/// setting. <see cref="CertificateRenewal"/> replaces the certificate in place (<see cref="Install"/>),
/// and so does a reload (SIGHUP) after an operator put a renewed certificate and key in the files;
/// every new connection, client or server, takes <see cref="Current"/> anew.
/// </summary>
public sealed class FleetCredentials : IDisposable
{
    private const string Section = "FillController:Fleet";

    private readonly FleetTlsCredentials _tls;

    private FleetCredentials(FleetTlsCredentials tls, string certificateFile, string keyFile)
    {
        _tls = tls;
        CertificateFile = certificateFile;
        KeyFile = keyFile;
    }

    /// <summary>The certificate presented to steering and to appliances, with its private key (the newest one after a renewal).</summary>
    public X509Certificate2 Current => _tls.Current!;

    /// <summary>Starts at 1 and grows with every installed renewal (clients rebuild their connections when it changes).</summary>
    public int Version => _tls.Version;

    public FleetTrust Trust => _tls.Trust;

    /// <summary>The kit's credentials behind these, for the reloader (<see cref="FleetCredentialsReload"/>).</summary>
    public FleetTlsCredentials Tls => _tls;

    public string CertificateFile { get; }

    public string KeyFile { get; }

    /// <exception cref="InvalidOperationException">What is wrong, naming the <c>FillController:Fleet</c> setting and the file.</exception>
    public static FleetCredentials Load(string certificateFile, string keyFile, string caCertificateFile) =>
        new(FleetTlsCredentials.Load(new FleetCredentialFiles(Section, certificateFile, keyFile, caCertificateFile), FleetIdentity.FillController, FleetCertificateUse.ClientAndServer), certificateFile, keyFile);

    /// <summary>
    /// TLS client options for one new connection: the current certificate, and the server must hold
    /// a fleet certificate naming <paramref name="server"/>.
    /// </summary>
    public SslClientAuthenticationOptions ClientOptions(FleetIdentity server) => _tls.ClientOptions(server);

    /// <summary>An HTTP/2-capable handler presenting the current certificate to a server that must be <paramref name="server"/>.</summary>
    public SocketsHttpHandler CreateHandler(FleetIdentity server) => new()
    {
        SslOptions = ClientOptions(server),
        ConnectTimeout = TimeSpan.FromSeconds(10),
    };

    /// <summary>A certificate signing request for the fill controller's key (renewal keeps the key).</summary>
    public string CreateRequestPem()
    {
        using var key = Current.GetECDsaPrivateKey() ?? throw new InvalidOperationException($"{Section}:KeyFile '{KeyFile}' is not an ECDSA key");
        return new CertificateRequest("CN=fill-controller", key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
    }

    /// <summary>
    /// Checks a renewed certificate (same key, fleet CA, <c>openconnect://fill-controller</c>, client and
    /// server use), writes it to <see cref="CertificateFile"/> (temp file, then rename) and makes it current.
    /// </summary>
    public X509Certificate2 Install(string certificatePem)
    {
        using var key = Current.GetECDsaPrivateKey() ?? throw new InvalidOperationException($"{Section}:KeyFile '{KeyFile}' is not an ECDSA key");
        X509Certificate2 renewed;
        try
        {
            using var bare = X509Certificate2.CreateFromPem(certificatePem);
            renewed = FleetTlsCredentials.Exportable(bare.CopyWithPrivateKey(key));
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new InvalidOperationException($"steering's renewed certificate is not for the fill controller's key: {ex.Message}", ex);
        }

        if (_tls.Refusal(renewed, FleetIdentity.FillController, FleetCertificateUse.ClientAndServer) is { } problem)
        {
            renewed.Dispose();
            throw new InvalidOperationException($"steering's renewed certificate is refused: {problem}");
        }

        FleetTlsCredentials.Save(CertificateFile, renewed);
        _tls.Install(renewed);
        return renewed;
    }

    public void Dispose() => _tls.Dispose();
}
