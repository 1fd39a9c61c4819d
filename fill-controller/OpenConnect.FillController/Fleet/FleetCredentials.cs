using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Hosting;

namespace OpenConnect.FillController.Fleet;

/// <summary>
/// The fill controller's fleet certificate with its key, and the fleet CA it trusts, loaded once at
/// start. A missing file, a key group or others can read, a certificate that is not for the key,
/// not issued by the fleet CA, not valid now, or naming another identity than
/// <c>openconnect://fill-controller</c> stops the start with a message naming the setting.
/// </summary>
public sealed class FleetCredentials : IDisposable
{
    private const string Section = "FillController:Fleet";

    private FleetCredentials(X509Certificate2 certificate, X509Certificate2 authority)
    {
        Certificate = certificate;
        Authority = authority;
        Trust = new FleetTrust(authority);
    }

    /// <summary>The certificate presented to steering, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    public X509Certificate2 Authority { get; }

    public FleetTrust Trust { get; }

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
            certificate = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            authority.Dispose();
            throw new InvalidOperationException($"{Section}:CertificateFile '{certificateFile}' with {Section}:KeyFile '{keyFile}' is not a PEM certificate and its private key: {ex.Message}", ex);
        }

        var credentials = new FleetCredentials(certificate, authority);
        var verdict = credentials.Trust.CheckClient(certificate);
        if (verdict.Identity != FleetIdentity.FillController)
        {
            credentials.Dispose();
            var problem = verdict.Problem ?? $"it names {verdict.Identity}";
            throw new InvalidOperationException($"{Section}:CertificateFile '{certificateFile}' is not a fleet certificate for {FleetIdentity.FillController} from {Section}:CaCertificateFile '{caCertificateFile}': {problem}");
        }

        return credentials;
    }

    /// <summary>TLS client options: this certificate, and the server must hold a fleet certificate naming <paramref name="server"/>.</summary>
    public SslClientAuthenticationOptions ClientOptions(FleetIdentity server) => new()
    {
        RemoteCertificateValidationCallback = Trust.ServerValidator(server),
        ClientCertificateContext = SslStreamCertificateContext.Create(Certificate, additionalCertificates: null, offline: true),
    };

    public void Dispose()
    {
        Certificate.Dispose();
        Authority.Dispose();
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
}
