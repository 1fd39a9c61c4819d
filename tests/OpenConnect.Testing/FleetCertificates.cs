using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OpenConnect.Hosting;

namespace OpenConnect.Testing;

/// <summary>
/// A fleet CA for tests, written in the layout steering loads (<c>ca.key</c> mode 0600 and
/// <c>ca.crt</c> in its fleet directory, by default <c>{DataDirectory}/fleet</c>), and certificates
/// it issues the way steering does: one SAN URI naming the holder. Lets fixtures start appliances
/// already enrolled (key and certificate in their fleet directory) without the enrollment round trip.
/// </summary>
public sealed class FleetCertificates : IDisposable
{
    private readonly ECDsa _key;

    private FleetCertificates(X509Certificate2 authority, ECDsa key, string caCertificateFile)
    {
        Authority = authority;
        _key = key;
        CaCertificateFile = caCertificateFile;
    }

    public X509Certificate2 Authority { get; }

    /// <summary>The CA certificate (PEM) to give appliances as <c>Appliance:Fleet:CaCertificateFile</c>.</summary>
    public string CaCertificateFile { get; }

    /// <summary>Creates a CA and writes it into <paramref name="fleetDirectory"/> (steering's fleet directory).</summary>
    public static FleetCertificates Create(string fleetDirectory)
    {
        Directory.CreateDirectory(fleetDirectory);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=OpenConnect test fleet CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        var authority = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(5));
        PrivateFile.Write(Path.Combine(fleetDirectory, "ca.key"), key.ExportPkcs8PrivateKeyPem());
        var caFile = Path.Combine(fleetDirectory, "ca.crt");
        File.WriteAllText(caFile, authority.ExportCertificatePem());
        return new FleetCertificates(authority, key, caFile);
    }

    /// <summary>
    /// A certificate (with its private key) for <paramref name="identity"/> such as
    /// <c>openconnect://appliance/isp1/a1</c>; server use as well when <paramref name="server"/>
    /// (with <paramref name="hosts"/> as DNS/IP names), valid from <paramref name="notBefore"/> for
    /// <paramref name="lifetime"/> (default: from now, 7 days).
    /// </summary>
    public X509Certificate2 Issue(string identity, bool server = false, DateTimeOffset? notBefore = null, TimeSpan? lifetime = null, params string[] hosts)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return Issue(key, identity, server, notBefore, lifetime, hosts);
    }

    public X509Certificate2 Issue(ECDsa key, string identity, bool server = false, DateTimeOffset? notBefore = null, TimeSpan? lifetime = null, params string[] hosts)
    {
        var request = new CertificateRequest($"CN={identity}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        var usages = new OidCollection { new("1.3.6.1.5.5.7.3.2") };
        if (server)
        {
            usages.Add(new Oid("1.3.6.1.5.5.7.3.1"));
        }

        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddUri(new Uri(identity));
        foreach (var host in hosts)
        {
            if (IPAddress.TryParse(host, out var address))
            {
                names.AddIpAddress(address);
            }
            else
            {
                names.AddDnsName(host);
            }
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Authority, true, false));
        var from = notBefore ?? DateTimeOffset.UtcNow.AddSeconds(-1);
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var issued = request.Create(Authority.SubjectName, X509SignatureGenerator.CreateForECDsa(_key), from, from + (lifetime ?? TimeSpan.FromDays(7)), serial);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>Steering's certificate (server and client use, <c>openconnect://steering</c>) for a stand-in control plane.</summary>
    public X509Certificate2 IssueSteering() => Issue("openconnect://steering", server: true, hosts: ["127.0.0.1", "::1", "localhost"]);

    /// <summary>
    /// Enrolls an appliance without the round trip: writes <c>appliance.key</c> (0600) and
    /// <c>appliance.crt</c> for <c>openconnect://appliance/{site}/{id}</c> into <paramref name="fleetDirectory"/>
    /// (the appliance's <c>Appliance:Fleet:Directory</c>); returns the certificate.
    /// </summary>
    public X509Certificate2 WriteAppliance(string fleetDirectory, string site, string id, TimeSpan? lifetime = null)
    {
        Directory.CreateDirectory(fleetDirectory);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        // Steering issues appliance and service certificates for server use too (they serve parent pulls).
        var certificate = Issue(key, $"openconnect://appliance/{site}/{id}", server: true, lifetime: lifetime);
        PrivateFile.Write(Path.Combine(fleetDirectory, "appliance.key"), key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(Path.Combine(fleetDirectory, "appliance.crt"), certificate.ExportCertificatePem());
        return certificate;
    }

    /// <summary>
    /// Writes a service's key (<c>{name}.key</c>, 0600) and certificate (<c>{name}.crt</c>) for
    /// <paramref name="identity"/> (e.g. <c>openconnect://fill-controller</c>; client and server use, as steering issues service certificates) into <paramref name="directory"/>;
    /// returns the two paths.
    /// </summary>
    public (string CertificateFile, string KeyFile) WriteService(string directory, string name, string identity)
    {
        Directory.CreateDirectory(directory);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = Issue(key, identity, server: !identity.StartsWith("openconnect://operator/", StringComparison.Ordinal));
        var keyFile = Path.Combine(directory, name + ".key");
        var certificateFile = Path.Combine(directory, name + ".crt");
        PrivateFile.Write(keyFile, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem());
        return (certificateFile, keyFile);
    }

    /// <summary>The settings that start an appliance with the identity <see cref="WriteAppliance"/> wrote.</summary>
    public string[] ApplianceSettings(string fleetDirectory) =>
        [$"--Appliance:Fleet:Directory={fleetDirectory}", $"--Appliance:Fleet:CaCertificateFile={CaCertificateFile}"];

    public void Dispose()
    {
        Authority.Dispose();
        _key.Dispose();
    }

}
