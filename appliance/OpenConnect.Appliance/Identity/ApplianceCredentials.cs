using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Hosting;

namespace OpenConnect.Appliance.Identity;

/// <summary>
/// The appliance's fleet key and certificate, and the fleet CA it trusts. The key is made here
/// (ECDSA P-256, <c>appliance.key</c>, mode 0600) and only its certificate request ever leaves the
/// box; the certificate (<c>appliance.crt</c>) is replaced on renewal, and readers take
/// <see cref="Current"/> anew for each new connection.
/// </summary>
public sealed class ApplianceCredentials : IDisposable
{
    public const string KeyFileName = "appliance.key";
    public const string CertificateFileName = "appliance.crt";

    private readonly ECDsa _key;

    private ApplianceCredentials(string directory, ECDsa key, FleetTlsCredentials tls)
    {
        Directory = directory;
        _key = key;
        Tls = tls;
    }

    public string Directory { get; }

    /// <summary>The certificate in use and the fleet CA check, as the kit's fleet TLS pieces take them.</summary>
    public FleetTlsCredentials Tls { get; }

    public FleetTrust Trust => Tls.Trust;

    /// <summary>The certificate in use (with its private key), or null before enrollment.</summary>
    public X509Certificate2? Current => Tls.Current;

    /// <summary>Changes whenever the certificate is replaced, so clients know to reconnect.</summary>
    public int Version => Tls.Version;

    public string KeyPath => Path.Combine(Directory, KeyFileName);

    public string CertificatePath => Path.Combine(Directory, CertificateFileName);

    /// <summary>Opens the fleet directory: loads the key (making one on first use) and the certificate when there is one.</summary>
    public static ApplianceCredentials Open(string directory, string caCertificateFile)
    {
        var authority = FleetTlsCredentials.LoadAuthority(caCertificateFile, "Appliance:Fleet:CaCertificateFile");
        System.IO.Directory.CreateDirectory(directory);
        var keyPath = Path.Combine(directory, KeyFileName);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        if (File.Exists(keyPath))
        {
            PrivateFile.RequireOwnerOnly(keyPath);
            key.ImportFromPem(File.ReadAllText(keyPath));
        }
        else
        {
            PrivateFile.Write(keyPath, key.ExportPkcs8PrivateKeyPem());
        }

        var credentials = new ApplianceCredentials(directory, key, new FleetTlsCredentials(authority));
        if (File.Exists(credentials.CertificatePath))
        {
            credentials.Install(File.ReadAllText(credentials.CertificatePath), save: false);
        }

        return credentials;
    }

    /// <summary>A PKCS#10 request (PEM) signed by the appliance's key: the only thing about the key that leaves the box.</summary>
    public string CreateRequestPem(string subject)
    {
        var request = new CertificateRequest(new X500DistinguishedName($"CN={subject}"), _key, HashAlgorithmName.SHA256);
        return request.CreateSigningRequestPem();
    }

    /// <summary>Takes a certificate steering issued: it must be for this key and chain to the fleet CA; saved (temp file + rename) when <paramref name="save"/>.</summary>
    public X509Certificate2 Install(string certificatePem, bool save)
    {
        using var issued = X509Certificate2.CreateFromPem(certificatePem);
        if (issued.GetECDsaPublicKey() is not { } publicKey || !publicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(_key.ExportSubjectPublicKeyInfo()))
        {
            throw new InvalidOperationException($"certificate {issued.SerialNumber} is not for this appliance's key ({KeyPath})");
        }

        var withKey = issued.CopyWithPrivateKey(_key);
        if (save)
        {
            FleetTlsCredentials.Save(CertificatePath, withKey);
        }

        Tls.Install(withKey);
        return withKey;
    }

    /// <summary>The identity in the current certificate, or null before enrollment.</summary>
    public FleetIdentity? Identity => Current is { } certificate ? FleetIdentity.FromCertificate(certificate) : null;

    /// <summary>TLS client options for fleet calls: the current certificate, and the server must be steering's fleet certificate.</summary>
    public SslClientAuthenticationOptions ClientOptions(FleetIdentity server) => Tls.ClientOptions(server);

    public void Dispose()
    {
        Tls.Dispose();
        _key.Dispose();
    }
}
