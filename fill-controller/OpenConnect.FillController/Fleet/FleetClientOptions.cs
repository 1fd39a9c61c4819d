using OpenConnect.Hosting;

namespace OpenConnect.FillController.Fleet;

/// <summary>
/// The fill controller's fleet certificate (section <c>FillController:Fleet</c>): the files it
/// presents to steering's control listener and serves its own control listener with, and the fleet
/// CA every peer's certificate must chain to.
/// All three must exist at start. Steering issues the certificate to an operator
/// (<c>POST /fleet/certificates {"identity":"openconnect://fill-controller","csr":"..."}</c>).
/// </summary>
public sealed class FleetClientOptions
{
    /// <summary>The fill controller's certificate (PEM, naming <c>openconnect://fill-controller</c>). Default <c>{DataDirectory}/fleet/fill-controller.crt</c>.</summary>
    public string CertificateFile { get; set; } = "";

    /// <summary>Its private key (PEM, mode 0600: a start refuses a key group or others can read). Default <c>{DataDirectory}/fleet/fill-controller.key</c>.</summary>
    public string KeyFile { get; set; } = "";

    /// <summary>The fleet CA certificate (PEM, steering's <c>ca.crt</c>). Default <c>{DataDirectory}/fleet/ca.crt</c>.</summary>
    public string CaCertificateFile { get; set; } = "";

    /// <summary>
    /// Wait after a failed renewal before the next attempt (renewal starts two thirds into the
    /// certificate's lifetime, over steering's control listener). Default 1 min.
    /// </summary>
    public TimeSpan RenewRetryInterval { get; set; } = TimeSpan.FromMinutes(1);

    public string ResolvedCertificateFile(string dataDirectory) => Resolve(CertificateFile, dataDirectory, "fill-controller.crt");

    public string ResolvedKeyFile(string dataDirectory) => Resolve(KeyFile, dataDirectory, "fill-controller.key");

    public string ResolvedCaCertificateFile(string dataDirectory) => Resolve(CaCertificateFile, dataDirectory, "ca.crt");

    public void Validate(OptionsCheck check)
    {
        check.Require(CertificateFile.Length == 0 || !string.IsNullOrWhiteSpace(CertificateFile), "Fleet:CertificateFile", CertificateFile, "must name a file");
        check.Require(KeyFile.Length == 0 || !string.IsNullOrWhiteSpace(KeyFile), "Fleet:KeyFile", KeyFile, "must name a file");
        check.Require(CaCertificateFile.Length == 0 || !string.IsNullOrWhiteSpace(CaCertificateFile), "Fleet:CaCertificateFile", CaCertificateFile, "must name a file");
        check.Require(RenewRetryInterval >= TimeSpan.FromSeconds(1), "Fleet:RenewRetryInterval", RenewRetryInterval, "must be at least 00:00:01");
    }

    private static string Resolve(string configured, string dataDirectory, string fileName) =>
        configured.Length > 0 ? configured : Path.Combine(dataDirectory, "fleet", fileName);
}
