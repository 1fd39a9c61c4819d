using OpenConnect.Hosting;

namespace OpenConnect.Appliance.Identity;

/// <summary>
/// The appliance's fleet identity (section <c>Appliance:Fleet</c>): where its key and certificate
/// live, the fleet CA it trusts, and how it enrolls the first time.
/// </summary>
public sealed class FleetClientOptions
{
    /// <summary>
    /// Directory holding <c>appliance.key</c> (ECDSA P-256, mode 0600, made here and never sent) and
    /// <c>appliance.crt</c>. Default: beside the cache directory, <c>{Cache:Directory}-fleet</c>
    /// (e.g. <c>.openconnect/appliance-fleet</c>).
    /// </summary>
    public string Directory { get; set; } = "";

    /// <summary>The fleet CA certificate (PEM) steering's certificate must chain to. Required with a control plane.</summary>
    public string CaCertificateFile { get; set; } = "";

    /// <summary>Steering's enrollment URL, e.g. <c>https://10.0.0.2:8281</c>; used when the appliance has no certificate yet.</summary>
    public string EnrollUrl { get; set; } = "";

    /// <summary>The one-time enrollment code the operator got when adding this appliance. Prefer <see cref="EnrollmentCodeFile"/>.</summary>
    public string EnrollmentCode { get; set; } = "";

    /// <summary>A file holding the enrollment code (read once, at the first start).</summary>
    public string EnrollmentCodeFile { get; set; } = "";

    /// <summary>How often renewal is retried after a failure. Default 1 min.</summary>
    public TimeSpan RenewRetryInterval { get; set; } = TimeSpan.FromMinutes(1);

    public void Validate(OptionsCheck check)
    {
        check.Require(EnrollUrl.Length == 0 || (Uri.TryCreate(EnrollUrl, UriKind.Absolute, out var url) && url.Scheme == "https"), "Fleet:EnrollUrl", EnrollUrl, "must be an https:// URL, e.g. https://10.0.0.2:8281");
        check.Require(EnrollmentCode.Length == 0 || EnrollmentCodeFile.Length == 0, "Fleet:EnrollmentCode", EnrollmentCode.Length == 0 ? "" : "(set)", "must not be set together with Fleet:EnrollmentCodeFile");
        check.Require(RenewRetryInterval >= TimeSpan.FromMilliseconds(100), "Fleet:RenewRetryInterval", RenewRetryInterval, "must be at least 00:00:00.1");
    }

    public string ResolvedDirectory(string cacheDirectory) =>
        Directory.Length > 0 ? Directory : Path.TrimEndingDirectorySeparator(Path.GetFullPath(cacheDirectory)) + "-fleet";
}
