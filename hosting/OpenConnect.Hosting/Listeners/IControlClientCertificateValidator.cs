using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace OpenConnect.Hosting;

/// <summary>
/// Decides, during the TLS handshake on the control listener, whether a client certificate is
/// accepted. The kit's default accepts a certificate that chains to the configured CA; a role
/// registers its own (e.g. checking the fleet identity in the certificate) as a singleton.
/// </summary>
public interface IControlClientCertificateValidator
{
    /// <param name="certificate">The client's certificate.</param>
    /// <param name="chain">The chain the platform built, if any.</param>
    /// <param name="errors">The platform's verdict against the system trust store (usually <see cref="SslPolicyErrors.RemoteCertificateChainErrors"/> for a private CA).</param>
    /// <param name="caCertificate">The configured client CA.</param>
    bool Validate(X509Certificate2 certificate, X509Chain? chain, SslPolicyErrors errors, X509Certificate2 caCertificate);
}

/// <summary>Accepts a client certificate that chains to the configured CA alone (custom root trust, no revocation lookup).</summary>
public sealed class CaChainClientCertificateValidator : IControlClientCertificateValidator
{
    public bool Validate(X509Certificate2 certificate, X509Chain? chain, SslPolicyErrors errors, X509Certificate2 caCertificate)
    {
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.Add(caCertificate);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        custom.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.2"));
        return custom.Build(certificate);
    }
}
