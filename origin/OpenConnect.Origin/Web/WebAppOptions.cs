using OpenConnect.Hosting;

namespace OpenConnect.Origin.Web;

/// <summary>Web app and QoE settings (section <c>Origin:Web</c>).</summary>
public sealed class WebAppOptions
{
    /// <summary>
    /// The built web app (<c>web/dist</c>, made by <c>npm run build</c> in <c>web/</c>). Empty (the
    /// default) means the <c>web/dist</c> folder of the source tree the origin binary was built in,
    /// found by walking up from the binary to the folder holding <c>OpenConnect.sln</c>.
    /// </summary>
    public string Directory { get; set; } = "";

    /// <summary>Steering's public URL, where the player asks <c>/play/{titleId}</c>. Default <c>http://127.0.0.1:8200</c>.</summary>
    public string SteeringUrl { get; set; } = "http://127.0.0.1:8200";

    /// <summary>
    /// Every steering address the player may ask, one per replica (or per name), e.g.
    /// <c>--Origin:Web:SteeringUrls:0=https://steer-a.example --Origin:Web:SteeringUrls:1=https://steer-b.example</c>.
    /// The web app asks the next at once when one refuses or fails with a 5xx, and beside one that has
    /// not answered within a second. Empty (the default): <see cref="SteeringUrl"/> alone.
    /// </summary>
    public List<string> SteeringUrls { get; set; } = [];

    /// <summary>Largest QoE beacon body accepted, in bytes. Default 4096.</summary>
    public int MaxBeaconBytes { get; set; } = 4096;

    /// <summary>Distinct values kept per free-text QoE label (site, appliance); later ones count as <c>other</c>. Default 64.</summary>
    public int MaxLabelValues { get; set; } = 64;

    /// <summary>Recent QoE samples (starts, bitrate points) kept in memory for the QoE page. Default 2000.</summary>
    public int RecentSamples { get; set; } = 2000;

    /// <summary>
    /// Steering's enrollment listener (its <c>Steering:Fleet:EnrollUrl</c>), e.g. <c>https://10.0.0.2:8281</c>:
    /// the operator page (<c>/operator</c>, admins only) reads the fleet roster there with the origin's
    /// fleet certificate (needs <c>Origin:Fleet</c>). Default: empty (the page says it is not set).
    /// </summary>
    public string FleetSteeringUrl { get; set; } = "";

    /// <summary>
    /// The fill controller's control listener (its <c>FillController:Fill:ControlUrl</c>), e.g.
    /// <c>https://10.0.0.3:8380</c>: the operator page reads each site's fill progress there with the
    /// origin's fleet certificate (needs <c>Origin:Fleet</c>). Default: empty (no fill progress shown).
    /// </summary>
    public string FleetFillControllerUrl { get; set; } = "";

    /// <param name="check">Collects the problems.</param>
    /// <param name="fleetConfigured">Whether <c>Origin:Fleet</c> gives the origin a fleet certificate (the fleet URLs need one).</param>
    public void Validate(OptionsCheck check, bool fleetConfigured)
    {
        foreach (var (url, key) in (ReadOnlySpan<(string, string)>)[(FleetSteeringUrl, "Web:FleetSteeringUrl"), (FleetFillControllerUrl, "Web:FleetFillControllerUrl")])
        {
            check.Require(
                url.Length == 0 || (Uri.TryCreate(url, UriKind.Absolute, out var parsed) && parsed.Scheme == Uri.UriSchemeHttps && parsed.AbsolutePath == "/" && parsed.Query.Length == 0),
                key,
                url,
                "must be empty or an https:// URL with host and port only, e.g. https://10.0.0.2:8281 (fleet listeners take mutual TLS only)");
            check.Require(url.Length == 0 || fleetConfigured, key, url, "needs the origin's fleet certificate: set Origin:Fleet:ParentUrl, CertificateFile, KeyFile and CaCertificateFile");
        }

        check.RequireAbsoluteHttpUri(SteeringUrl, "Web:SteeringUrl");
        for (var i = 0; i < SteeringUrls.Count; i++)
        {
            check.RequireAbsoluteHttpUri(SteeringUrls[i], $"Web:SteeringUrls:{i}");
        }

        check.Require(SteeringUrls.Count <= 16, "Web:SteeringUrls", SteeringUrls.Count, "must list at most 16 addresses");
        check.Require(MaxBeaconBytes is >= 256 and <= 65536, "Web:MaxBeaconBytes", MaxBeaconBytes, "must be between 256 and 65536");
        check.Require(MaxLabelValues is >= 1 and <= 1000, "Web:MaxLabelValues", MaxLabelValues, "must be between 1 and 1000");
        check.Require(RecentSamples is >= 10 and <= 100_000, "Web:RecentSamples", RecentSamples, "must be between 10 and 100000");
    }

    /// <summary>The addresses the web app asks, in order: <see cref="SteeringUrls"/>, or <see cref="SteeringUrl"/> alone.</summary>
    public IReadOnlyList<string> EffectiveSteeringUrls() =>
        (SteeringUrls.Count > 0 ? SteeringUrls : [SteeringUrl]).Select(u => u.TrimEnd('/')).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>The directory in force: <see cref="Directory"/>, or <c>web/dist</c> of the source tree.</summary>
    public string EffectiveDirectory()
    {
        if (Directory.Length > 0)
        {
            return Path.GetFullPath(Directory);
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OpenConnect.sln")))
            {
                return Path.Combine(dir.FullName, "web", "dist");
            }
        }

        return Path.GetFullPath(Path.Combine("web", "dist"));
    }
}
