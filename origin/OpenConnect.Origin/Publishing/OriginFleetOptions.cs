using OpenConnect.Hosting;

namespace OpenConnect.Origin.Publishing;

/// <summary>
/// The origin's fleet parent listener (section <c>Origin:Fleet</c>): appliances (and the fill
/// controller) pull unsigned <c>/v/…</c> over TLS with their fleet certificates, whatever network
/// they come from. The origin's certificate names <c>openconnect://origin</c> and is issued by an
/// operator (<c>POST /fleet/certificates</c> on steering's enrollment listener). All empty (default):
/// no fleet parent listener; parents pull from the data listener by <c>Origin:ParentNetworks</c>.
/// </summary>
public sealed class OriginFleetOptions
{
    /// <summary>Where the fleet parent listener listens, e.g. <c>https://0.0.0.0:8143</c> (https only). Default: empty (none).</summary>
    public string ParentUrl { get; set; } = "";

    /// <summary>PEM certificate naming <c>openconnect://origin</c>, issued by the fleet CA for server use. Required with <see cref="ParentUrl"/>.</summary>
    public string CertificateFile { get; set; } = "";

    /// <summary>PEM private key of <see cref="CertificateFile"/>; mode 0600 (refused when group or others may read it).</summary>
    public string KeyFile { get; set; } = "";

    /// <summary>The fleet CA certificate (PEM, steering's <c>fleet/ca.crt</c>): client certificates must chain to it.</summary>
    public string CaCertificateFile { get; set; } = "";

    /// <summary>
    /// Steering's control listener, e.g. <c>https://10.0.0.2:8280</c> (its <c>Steering:ControlUrl</c>):
    /// the origin reports its takedown list there with its fleet certificate, so steering stops steering
    /// a deleted or unpublished title at once and every appliance drops it. Needs the certificate files.
    /// Default: empty (takedowns are not reported; steering and appliances learn only from 404s).
    /// </summary>
    public string SteeringControlUrl { get; set; } = "";

    /// <summary>
    /// More steering replicas' control listeners beside <see cref="SteeringControlUrl"/>, e.g.
    /// <c>SteeringControlUrls:0=https://10.0.0.3:8280</c>: replicas keep no shared store, so the origin
    /// reports its takedown list to each of them. Default none.
    /// </summary>
    public string[] SteeringControlUrls { get; set; } = [];

    /// <summary><see cref="SteeringControlUrl"/> and <see cref="SteeringControlUrls"/>, without repeats.</summary>
    public IReadOnlyList<string> SteeringReplicas => [.. new[] { SteeringControlUrl }.Concat(SteeringControlUrls).Where(u => u.Length > 0).Distinct(StringComparer.Ordinal)];

    /// <summary>How long to wait before reporting the takedown list again after steering did not acknowledge it. Default 5 s.</summary>
    public TimeSpan TakedownRetryInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the takedown list is reported again though nothing changed (repairs a steering that lost its state). Default 1 min.</summary>
    public TimeSpan TakedownRefreshInterval { get; set; } = TimeSpan.FromMinutes(1);

    public bool IsConfigured => ParentUrl.Length > 0;

    /// <summary>Whether the fleet certificate files are in use: for the parent listener or for reporting takedowns.</summary>
    public bool UsesCertificate => IsConfigured || SteeringReplicas.Count > 0;

    public void Validate(OptionsCheck check)
    {
        var anyFile = CertificateFile.Length > 0 || KeyFile.Length > 0 || CaCertificateFile.Length > 0;
        check.Require(TakedownRetryInterval >= TimeSpan.FromMilliseconds(100) && TakedownRetryInterval <= TimeSpan.FromHours(1), "Fleet:TakedownRetryInterval", TakedownRetryInterval, "must be between 00:00:00.1 and 01:00:00");
        check.Require(TakedownRefreshInterval >= TimeSpan.FromSeconds(1) && TakedownRefreshInterval <= TimeSpan.FromDays(1), "Fleet:TakedownRefreshInterval", TakedownRefreshInterval, "must be between 00:00:01 and 1.00:00:00");
        check.Require(SteeringControlUrl.Length == 0 || IsControlUrl(SteeringControlUrl),
            "Fleet:SteeringControlUrl", SteeringControlUrl, "must be empty or steering's control listener as https://HOST:PORT (mutual TLS only), e.g. https://10.0.0.2:8280");
        for (var i = 0; i < SteeringControlUrls.Length; i++)
        {
            check.Require(IsControlUrl(SteeringControlUrls[i]), $"Fleet:SteeringControlUrls:{i}", SteeringControlUrls[i], "must be a steering replica's control listener as https://HOST:PORT (mutual TLS only), e.g. https://10.0.0.3:8280");
        }

        if (!UsesCertificate)
        {
            check.Require(!anyFile, "Fleet:ParentUrl", ParentUrl, "is required when Origin:Fleet certificate files are set (they serve the fleet parent listener), unless Origin:Fleet:SteeringControlUrl uses them");
            return;
        }

        if (IsConfigured)
        {
            var (urls, problem) = ListenUrls.TryParse(ParentUrl);
            check.Require(problem is null && urls.All(u => u.Uri.Scheme == Uri.UriSchemeHttps), "Fleet:ParentUrl", ParentUrl, "must be https:// with an IP address (or * or localhost) and a port, e.g. https://0.0.0.0:8143");
        }

        Require(check, CertificateFile, "Fleet:CertificateFile");
        Require(check, KeyFile, "Fleet:KeyFile");
        Require(check, CaCertificateFile, "Fleet:CaCertificateFile");
        if (check.Errors.Count > 0)
        {
            return;
        }

        try
        {
            using var loaded = OriginFleetCredentials.Load(this, TimeProvider.System);
        }
        catch (InvalidOperationException ex)
        {
            check.Require(false, "Fleet:CertificateFile", CertificateFile, ex.Message);
        }
    }

    private static void Require(OptionsCheck check, string path, string key)
    {
        check.Require(path.Length > 0, key, path, "a PEM file is required with Origin:Fleet:ParentUrl or SteeringControlUrl (the origin's certificate, its key and the fleet CA go together)");
        check.Require(path.Length == 0 || File.Exists(path), key, path, "file does not exist");
    }

    private static bool IsControlUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var steering) && steering.Scheme == Uri.UriSchemeHttps && steering.AbsolutePath == "/";
}
