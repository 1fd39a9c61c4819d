using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace OpenConnect.Testing;

/// <summary>Self-signed TLS server certificates written as PEM files, as an operator (or certbot) puts them in place.</summary>
public static class ServerCertificateFiles
{
    /// <summary>Writes a new self-signed certificate for <c>localhost</c> and 127.0.0.1 and its key (owner-only), replacing the files; returns the certificate (no key).</summary>
    public static X509Certificate2 Write(string certificateFile, string keyFile, string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        // Through temporary names and renames, so a reader never sees half a file.
        File.WriteAllText(keyFile + ".tmp", key.ExportPkcs8PrivateKeyPem());
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(keyFile + ".tmp", UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.WriteAllText(certificateFile + ".tmp", certificate.ExportCertificatePem());
        File.Move(keyFile + ".tmp", keyFile, overwrite: true);
        File.Move(certificateFile + ".tmp", certificateFile, overwrite: true);
        return X509CertificateLoader.LoadCertificate(certificate.RawData);
    }
}
