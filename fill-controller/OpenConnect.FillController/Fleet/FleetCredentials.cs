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
/// setting. <see cref="CertificateRenewal"/> replaces the certificate in place (<see cref="Install"/>);
/// every new connection, client or server, takes <see cref="Current"/> anew.
/// </summary>
public sealed class FleetCredentials : IDisposable
{
    private const string Section = "FillController:Fleet";

    private readonly object _gate = new();
    private Issued _current;

    private FleetCredentials(X509Certificate2 certificate, X509Certificate2 authority, string certificateFile, string keyFile)
    {
        Authority = authority;
        Trust = new FleetTrust(authority);
        CertificateFile = certificateFile;
        KeyFile = keyFile;
        _current = new Issued(certificate, 1);
    }

    /// <summary>The certificate presented to steering and to appliances, with its private key (the newest one after a renewal).</summary>
    public X509Certificate2 Current => Volatile.Read(ref _current).Certificate;

    /// <summary>Starts at 1 and grows with every installed renewal (clients rebuild their connections when it changes).</summary>
    public int Version => Volatile.Read(ref _current).Version;

    public X509Certificate2 Authority { get; }

    public FleetTrust Trust { get; }

    public string CertificateFile { get; }

    public string KeyFile { get; }

    public static FleetCredentials Load(string certificateFile, string keyFile, string caCertificateFile)
    {
        RequireFile(caCertificateFile, "CaCertificateFile", "copy ca.crt from steering's fleet directory");
        RequireFile(certificateFile, "CertificateFile", "have steering issue one: POST /fleet/certificates {\"identity\":\"openconnect://fill-controller\",\"csr\":\"<PEM>\"} on its enrollment listener with the operator token");
        RequireFile(keyFile, "KeyFile", "the private key the certificate request was made with");
        RequirePrivate(keyFile);

        X509Certificate2 authority;
        X509Certificate2 certificate;
        try
        {
            authority = X509Certificate2.CreateFromPem(File.ReadAllText(caCertificateFile));
        }
        catch (CryptographicException ex)
        {
            throw new InvalidOperationException($"{Section}:CaCertificateFile '{caCertificateFile}' is not a PEM certificate: {ex.Message}", ex);
        }

        try
        {
            certificate = Exportable(X509Certificate2.CreateFromPemFile(certificateFile, keyFile));
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            authority.Dispose();
            throw new InvalidOperationException($"{Section}:CertificateFile '{certificateFile}' with {Section}:KeyFile '{keyFile}' is not a PEM certificate and its private key: {ex.Message}", ex);
        }

        var credentials = new FleetCredentials(certificate, authority, certificateFile, keyFile);
        if (credentials.Problem(certificate) is { } problem)
        {
            credentials.Dispose();
            throw new InvalidOperationException($"{Section}:CertificateFile '{certificateFile}' is not a fleet certificate for {FleetIdentity.FillController} from {Section}:CaCertificateFile '{caCertificateFile}': {problem}");
        }

        return credentials;
    }

    /// <summary>
    /// TLS client options for one new connection: the current certificate, and the server must hold
    /// a fleet certificate naming <paramref name="server"/>.
    /// </summary>
    public SslClientAuthenticationOptions ClientOptions(FleetIdentity server) => new()
    {
        RemoteCertificateValidationCallback = Trust.ServerValidator(server),
        ClientCertificateContext = SslStreamCertificateContext.Create(Current, additionalCertificates: null, offline: true),
    };

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
            renewed = Exportable(bare.CopyWithPrivateKey(key));
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new InvalidOperationException($"steering's renewed certificate is not for the fill controller's key: {ex.Message}", ex);
        }

        if (Problem(renewed) is { } problem)
        {
            renewed.Dispose();
            throw new InvalidOperationException($"steering's renewed certificate is refused: {problem}");
        }

        var temp = CertificateFile + ".tmp";
        File.WriteAllText(temp, renewed.ExportCertificatePem() + "\n");
        File.Move(temp, CertificateFile, overwrite: true);
        lock (_gate)
        {
            // The previous certificate stays usable by connections that already hold it; it is not disposed.
            _current = new Issued(renewed, _current.Version + 1);
        }

        return renewed;
    }

    public void Dispose()
    {
        Current.Dispose();
        Authority.Dispose();
    }

    private string? Problem(X509Certificate2 certificate)
    {
        var verdict = Trust.CheckClient(certificate);
        if (verdict.Identity != FleetIdentity.FillController)
        {
            return verdict.Problem ?? $"it names {verdict.Identity}";
        }

        // The control listener serves TLS with this certificate (appliances check it as a server's).
        if (Trust.CheckServer(certificate).Identity != FleetIdentity.FillController)
        {
            return "it is not valid for TLS servers (no serverAuth usage): have steering issue a new one";
        }

        return null;
    }

    /// <summary>SslStream on Linux needs the key in a form it can hand to OpenSSL: round-trip through PKCS#12.</summary>
    private static X509Certificate2 Exportable(X509Certificate2 certificate)
    {
        using (certificate)
        {
            return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
        }
    }

    private static void RequireFile(string path, string key, string hint)
    {
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"{Section}:{key} '{path}' does not exist ({hint})");
        }
    }

    private static void RequirePrivate(string path)
    {
        try
        {
            PrivateFile.RequireOwnerOnly(path);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidOperationException($"{Section}:KeyFile {ex.Message}", ex);
        }
    }

    private sealed record Issued(X509Certificate2 Certificate, int Version);
}
