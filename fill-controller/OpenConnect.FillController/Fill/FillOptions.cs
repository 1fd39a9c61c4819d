using OpenConnect.Contracts.Hosting;
using OpenConnect.Hosting;

namespace OpenConnect.FillController.Fill;

/// <summary>Fill protocol and fill windows (section <c>FillController:Fill</c>).</summary>
public sealed class FillOptions
{
    /// <summary>
    /// The control listener (HTTP/2 over TLS with the fill controller's fleet certificate, a fleet
    /// client certificate on every request): appliances fetch their manifests and report progress
    /// (gRPC <c>FillOrders</c>), operators call <c>/fill/sites/…</c>. Must be https. Default <c>https://127.0.0.1:8380</c>.
    /// </summary>
    public string ControlUrl { get; set; } = "https://127.0.0.1:8380";

    /// <summary>
    /// Steering's control-plane URL (gRPC <c>ApplianceRoster</c> over mutual TLS with the
    /// certificate in <c>FillController:Fleet</c>). Default <c>https://127.0.0.1:8280</c>.
    /// </summary>
    public string SteeringControlUrl { get; set; } = "https://127.0.0.1:8280";

    /// <summary>
    /// More steering replicas' control-plane URLs beside <see cref="SteeringControlUrl"/>, e.g.
    /// <c>SteeringControlUrls:0=https://10.0.0.3:8280</c>. Each replica counts the plays it answered,
    /// so play history is read from every one (and summed, per replica instance); the roster is read
    /// from the first that answers (replicas rebuild the same roster from heartbeats). Default none.
    /// </summary>
    public string[] SteeringControlUrls { get; set; } = [];

    /// <summary><see cref="SteeringControlUrl"/> and <see cref="SteeringControlUrls"/>, without repeats.</summary>
    public IReadOnlyList<string> SteeringReplicas => [.. new[] { SteeringControlUrl }.Concat(SteeringControlUrls).Distinct(StringComparer.Ordinal)];

    /// <summary>
    /// How old steering's roster may be when an appliance calls: an appliance steering no longer
    /// lists (removed by the operator) is refused fill orders at most this long after. Default 30 s.
    /// </summary>
    public TimeSpan RosterRefreshInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The window of a site not listed in <see cref="Sites"/>: UTC, 02:00–06:00.</summary>
    public FillWindowOptions DefaultWindow { get; set; } = new();

    /// <summary>Per-site windows, by site name (e.g. <c>FillController:Fill:Sites:isp1:TimeZone=Europe/Paris</c>).</summary>
    public Dictionary<string, FillWindowOptions> Sites { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Base URL appliances fetch from when no appliance holds a file (the origin's content URL).
    /// Empty (default): the discovered origin (<c>FillController:Origin</c>).
    /// </summary>
    public string OriginUrl { get; set; } = "";

    /// <summary>
    /// The origin's fleet parent listener (<c>Origin:Fleet:ParentUrl</c> as appliances reach it, e.g.
    /// <c>https://10.0.0.1:8143</c>): when set, manifests name it as the origin source instead of
    /// <see cref="OriginUrl"/>, and appliances pull from it with their fleet certificate. Must be https.
    /// Default empty.
    /// </summary>
    public string OriginParentUrl { get; set; } = "";

    /// <summary>Share of each appliance's SSD bytes placement may fill (pinned); the rest stays for pulled content. Default 0.8.</summary>
    public double SsdShare { get; set; } = 0.8;

    /// <summary>An appliance silent for longer than this is left out of placement. Default 10 min.</summary>
    public TimeSpan RosterMaxSilence { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Staged copies: when a file is planned on several appliances of a site and none of them holds
    /// it, one copy goes out at once and the others are held back until it is DONE, then pulled from
    /// that appliance. If it fails, or is not DONE within this share of the time from opening to the
    /// window's end, the held copies are released anyway (from the origin or another holder).
    /// Above 0, at most 1. Default 0.25.
    /// </summary>
    public double HoldShare { get; set; } = 0.25;

    /// <summary>How often the scheduler checks whether a site's window has opened. Default 30 s.</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(30);

    public FillWindowOptions WindowFor(string site) => Sites.TryGetValue(site, out var window) ? window : DefaultWindow;

    public void Validate(OptionsCheck check)
    {
        check.Require(Uri.TryCreate(ControlUrl, UriKind.Absolute, out var control) && control.Scheme == "https" && control.AbsolutePath == "/", "Fill:ControlUrl", ControlUrl, "must be an https:// URL with host and port (the control listener takes only mutual TLS with fleet certificates), e.g. https://10.0.0.3:8380");
        check.Require(Uri.TryCreate(SteeringControlUrl, UriKind.Absolute, out var steering) && steering.Scheme == "https", "Fill:SteeringControlUrl", SteeringControlUrl, "must be an https:// URL (steering's control plane takes only mutual TLS), e.g. https://10.0.0.2:8280");
        for (var i = 0; i < SteeringControlUrls.Length; i++)
        {
            check.Require(Uri.TryCreate(SteeringControlUrls[i], UriKind.Absolute, out var replica) && replica.Scheme == "https", $"Fill:SteeringControlUrls:{i}", SteeringControlUrls[i], "must be an https:// URL (steering's control plane takes only mutual TLS), e.g. https://10.0.0.3:8280");
        }

        check.RequireAbsoluteHttpUri(OriginUrl, "Fill:OriginUrl", allowEmpty: true);
        check.Require(OriginParentUrl.Length == 0 || (Uri.TryCreate(OriginParentUrl, UriKind.Absolute, out var parent) && parent.Scheme == "https" && parent.Query.Length == 0), "Fill:OriginParentUrl", OriginParentUrl,
            "must be empty or an https:// URL (the origin's fleet parent listener, Origin:Fleet:ParentUrl), e.g. https://10.0.0.1:8143");
        check.Require(SsdShare is > 0 and <= 1, "Fill:SsdShare", SsdShare, "must be above 0 and at most 1");
        check.Require(HoldShare is > 0 and <= 1, "Fill:HoldShare", HoldShare, "must be above 0 and at most 1");
        check.Require(RosterMaxSilence > TimeSpan.Zero, "Fill:RosterMaxSilence", RosterMaxSilence, "must be positive");
        check.Require(RosterRefreshInterval >= TimeSpan.FromSeconds(1), "Fill:RosterRefreshInterval", RosterRefreshInterval, "must be at least 00:00:01");
        check.Require(CheckInterval >= TimeSpan.FromMilliseconds(100), "Fill:CheckInterval", CheckInterval, "must be at least 00:00:00.1");
        DefaultWindow.Validate(check, "Fill:DefaultWindow");
        foreach (var (site, window) in Sites)
        {
            check.Require(Identifiers.IsValid(site), $"Fill:Sites:{site}", site, $"the site name must be {Identifiers.Rule}");
            window.Validate(check, $"Fill:Sites:{site}");
        }
    }
}

/// <summary>A site's nightly fill window in its local time.</summary>
public sealed class FillWindowOptions
{
    /// <summary>IANA time zone of the site, e.g. <c>Europe/Paris</c>. Default <c>UTC</c>.</summary>
    public string TimeZone { get; set; } = "UTC";

    /// <summary>Local start time. Default 02:00.</summary>
    public TimeOnly Start { get; set; } = new(2, 0);

    /// <summary>Local end time; earlier than <see cref="Start"/> means the window crosses midnight. Default 06:00.</summary>
    public TimeOnly End { get; set; } = new(6, 0);

    public FillWindow ToWindow() => new(TimeZoneInfo.FindSystemTimeZoneById(TimeZone), Start, End);

    public void Validate(OptionsCheck check, string key)
    {
        var known = true;
        try
        {
            TimeZoneInfo.FindSystemTimeZoneById(TimeZone);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            known = false;
        }

        check.Require(known, $"{key}:TimeZone", TimeZone, "must be an IANA time zone such as Europe/Paris");
        check.Require(Start != End, $"{key}:End", End, "must differ from Start");
    }
}
