using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Hosting;

namespace OpenConnect.Steering.Fleet;

/// <summary>
/// The fleet CA (ECDSA P-256): <c>ca.key</c> (PKCS#8 PEM, mode 0600; a start refuses a key group or
/// others can read) and <c>ca.crt</c> in the fleet directory, created on first start. It signs one
/// certificate per holder naming it by a single SAN URI (<see cref="FleetIdentity"/>); the holder's
/// subject and requested extensions are never copied from a request.
/// </summary>
public sealed class FleetAuthority : IDisposable
{
    public const string KeyFileName = "ca.key";
    public const string CertificateFileName = "ca.crt";

    private const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";
    private const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";

    private readonly ECDsa _key;
    private readonly TimeProvider _time;

    private FleetAuthority(X509Certificate2 certificate, ECDsa key, TimeProvider time)
    {
        Certificate = certificate;
        _key = key;
        _time = time;
    }

    /// <summary>The CA certificate (public part only).</summary>
    public X509Certificate2 Certificate { get; }

    public string CertificatePem => Certificate.ExportCertificatePem();

    /// <summary>Loads the CA from <paramref name="directory"/>, creating it when neither file exists.</summary>
    public static FleetAuthority LoadOrCreate(string directory, TimeProvider time)
    {
        var keyPath = Path.Combine(directory, KeyFileName);
        var certificatePath = Path.Combine(directory, CertificateFileName);
        if (!File.Exists(keyPath) && !File.Exists(certificatePath))
        {
            Create(directory, time.GetUtcNow());
        }
        else if (!File.Exists(keyPath) || !File.Exists(certificatePath))
        {
            throw new InvalidOperationException($"fleet CA in '{directory}' is incomplete: both {KeyFileName} and {CertificateFileName} must exist (or neither, to create a new CA)");
        }

        PrivateFile.RequireOwnerOnly(keyPath);
        var key = ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(keyPath));
        var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(certificatePath));
        if (certificate.GetECDsaPublicKey() is not { } publicKey || !publicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
        {
            throw new InvalidOperationException($"fleet CA key '{keyPath}' does not belong to certificate '{certificatePath}'");
        }

        return new FleetAuthority(certificate, key, time);
    }

    /// <summary>Writes a new CA key and self-signed certificate (10 years) into <paramref name="directory"/>.</summary>
    public static void Create(string directory, DateTimeOffset now)
    {
        System.IO.Directory.CreateDirectory(directory);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=OpenConnect fleet CA {now:yyyy-MM-dd}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(10));
        PrivateFile.Write(Path.Combine(directory, KeyFileName), key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(Path.Combine(directory, CertificateFileName), certificate.ExportCertificatePem());
    }

    /// <summary>
    /// Issues a certificate for <paramref name="identity"/> to the key in a PKCS#10 request (PEM).
    /// The request's signature must verify (proof the caller holds the key) and its key be ECDSA
    /// P-256/P-384 or RSA of 2048 bits or more; everything else in it is ignored. Every identity but
    /// an operator may also serve TLS with it (appliances' control and parent listeners, the fill
    /// controller's and the origin's fleet listeners); clients check the identity, not a host name.
    /// </summary>
    public X509Certificate2 IssueFromRequest(string csrPem, FleetIdentity identity, TimeSpan lifetime)
    {
        CertificateRequest request;
        try
        {
            request = CertificateRequest.LoadSigningRequestPem(csrPem, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.Default);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new FleetRequestException($"the certificate request is not a valid signed PKCS#10 PEM: {ex.Message}");
        }

        RequireAcceptableKey(request.PublicKey);
        return Issue(request.PublicKey, identity, lifetime, server: identity.Role != FleetRole.Operator, []);
    }

    /// <summary>Issues a certificate for <paramref name="identity"/> to <paramref name="publicKey"/>.</summary>
    public X509Certificate2 Issue(PublicKey publicKey, FleetIdentity identity, TimeSpan lifetime, bool server, IEnumerable<string> hostNames)
    {
        var now = _time.GetUtcNow();
        var request = new CertificateRequest(new X500DistinguishedName($"CN={identity}"), publicKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        var usages = new OidCollection { new Oid(ClientAuthOid) };
        if (server)
        {
            usages.Add(new Oid(ServerAuthOid));
        }

        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddUri(identity.ToUri());
        foreach (var host in hostNames.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (IPAddress.TryParse(host.Trim('[', ']'), out var address))
            {
                names.AddIpAddress(address);
            }
            else
            {
                names.AddDnsName(host);
            }
        }

        request.CertificateExtensions.Add(names.Build(critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(publicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        var notAfter = now + lifetime;
        if (notAfter > Certificate.NotAfter.ToUniversalTime())
        {
            notAfter = Certificate.NotAfter.ToUniversalTime();
        }

        return request.Create(Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(_key), now.AddSeconds(-1), notAfter, serial);
    }

    /// <summary>A fresh key and certificate for one of steering's own listeners (server and client use).</summary>
    public X509Certificate2 CreateServerCertificate(IEnumerable<string> hostNames, TimeSpan lifetime)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=steering", key, HashAlgorithmName.SHA256);
        using var certificate = Issue(request.PublicKey, FleetIdentity.Steering, lifetime, server: true, hostNames);
        return certificate.CopyWithPrivateKey(key);
    }

    public void Dispose() => _key.Dispose();

    private static void RequireAcceptableKey(PublicKey key)
    {
        if (key.GetECDsaPublicKey() is { } ec)
        {
            using (ec)
            {
                var curve = ec.ExportParameters(false).Curve;
                if (curve.Oid.Value is "1.2.840.10045.3.1.7" or "1.3.132.0.34")
                {
                    return;
                }
            }
        }
        else if (key.GetRSAPublicKey() is { } rsa)
        {
            using (rsa)
            {
                if (rsa.KeySize >= 2048)
                {
                    return;
                }
            }
        }

        throw new FleetRequestException("the certificate request's key must be ECDSA P-256 or P-384, or RSA of at least 2048 bits");
    }
}

/// <summary>A certificate request or enrollment the fleet refuses, with the reason to hand back.</summary>
public sealed class FleetRequestException(string message) : Exception(message);
