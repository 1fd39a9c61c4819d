using OpenConnect.Hosting;

namespace OpenConnect.Steering.Fleet;

/// <summary>The fleet CA, enrollment and operator credential (section <c>Steering:Fleet</c>).</summary>
public sealed class FleetOptions
{
    /// <summary>
    /// Directory holding the fleet CA (<c>ca.key</c>, mode 0600, and <c>ca.crt</c>), the enrollment
    /// records and the operator token. Default <c>{DataDirectory}/fleet</c>.
    /// </summary>
    public string Directory { get; set; } = "";

    /// <summary>
    /// Where appliances enroll and operators call (HTTPS with steering's fleet certificate; a client
    /// certificate is optional here). Port 0 picks a free port. Default <c>https://127.0.0.1:8281</c>.
    /// </summary>
    public string EnrollUrl { get; set; } = "https://127.0.0.1:8281";

    /// <summary>The operator bearer token, created (mode 0600) on first start when missing. Default <c>{Directory}/operator.token</c>.</summary>
    public string OperatorTokenFile { get; set; } = "";

    /// <summary>How long an enrollment code stays usable (it is also single use). Default 1 h.</summary>
    public TimeSpan EnrollmentCodeLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Lifetime of the certificates the CA issues; appliances renew at two thirds of it. Default 7 days.</summary>
    public TimeSpan CertificateLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Extra DNS names or IP addresses for steering's own certificate, besides the hosts of
    /// <c>ControlUrl</c> and <see cref="EnrollUrl"/> (clients check the <c>openconnect://steering</c>
    /// identity, the names help other tools). Default none. Applied on reload (SIGHUP): steering's
    /// certificate is issued again with the new names for new connections.
    /// </summary>
    public string[] ServerNames { get; set; } = [];

    public void Validate(OptionsCheck check)
    {
        check.Require(Uri.TryCreate(EnrollUrl, UriKind.Absolute, out var enroll) && enroll.Scheme == "https" && enroll.AbsolutePath == "/", "Fleet:EnrollUrl", EnrollUrl, "must be an https:// URL with host and port, e.g. https://10.0.0.2:8281");
        check.Require(EnrollmentCodeLifetime >= TimeSpan.FromSeconds(1) && EnrollmentCodeLifetime <= TimeSpan.FromDays(7), "Fleet:EnrollmentCodeLifetime", EnrollmentCodeLifetime, "must be between 00:00:01 and 7.00:00:00");
        check.Require(CertificateLifetime >= TimeSpan.FromSeconds(3) && CertificateLifetime <= TimeSpan.FromDays(397), "Fleet:CertificateLifetime", CertificateLifetime, "must be between 00:00:03 and 397.00:00:00");
        foreach (var name in ServerNames)
        {
            check.Require(Uri.CheckHostName(name) != UriHostNameType.Unknown, "Fleet:ServerNames", name, "must be a DNS name or IP address");
        }
    }
}
