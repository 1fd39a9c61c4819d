namespace OpenConnect.Hosting;

/// <summary>
/// Where a role's fleet credentials live, and the configuration section that names them (e.g.
/// <c>Origin:Fleet</c>): every refusal names <c>{Section}:CertificateFile</c>, <c>:KeyFile</c> or
/// <c>:CaCertificateFile</c> with the path.
/// </summary>
/// <param name="Section">The configuration section of the three settings, e.g. <c>FillController:Fleet</c>.</param>
/// <param name="CertificateFile">PEM certificate naming the role's fleet identity, issued by the fleet CA.</param>
/// <param name="KeyFile">PEM private key of the certificate; mode 0600.</param>
/// <param name="CaCertificateFile">The fleet CA certificate (PEM, steering's <c>ca.crt</c>).</param>
public sealed record FleetCredentialFiles(string Section, string CertificateFile, string KeyFile, string CaCertificateFile);

/// <summary>What a role's own fleet certificate is used for, so what it must be valid for.</summary>
public enum FleetCertificateUse
{
    /// <summary>Serving TLS only (e.g. the origin's fleet parent listener).</summary>
    Server,

    /// <summary>Presented to fleet servers and serving the role's own listeners.</summary>
    ClientAndServer,
}
