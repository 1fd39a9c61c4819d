namespace OpenConnect.Testing.Fleet;

/// <summary>
/// How every role of the bed is started: ports, addresses and settings, in this one place (the
/// settings run.sh uses, on the bed's addresses). The control plane is the secure path: steering's
/// control and enrollment listeners are TLS only, appliances enroll with one-time codes and
/// heartbeat with their fleet certificates. Every role's management listener (<c>/healthz</c>,
/// <c>/metrics</c>) stays on loopback inside its host's namespace, as in production.
/// </summary>
public static class FleetLaunch
{
    public const int OriginPort = 8100;
    public const int SteeringPort = 8200;
    public const int SteeringControlPort = 8280;
    public const int SteeringEnrollPort = 8281;
    public const int FillPort = 8300;
    public const int FillControlPort = 8380;
    public const int AppliancePort = 8400;
    public const int ApplianceControlPort = 8480;

    /// <summary>Parent pulls over fleet TLS: the origin's fleet parent listener and each appliance's parent listener.</summary>
    public const int OriginParentPort = 8143;
    public const int ApplianceParentPort = 8443;

    /// <summary>Every role's management listener, on loopback inside its own namespace (reached with <c>ip netns exec</c>).</summary>
    public const string ManagementUrl = "http://127.0.0.1:9000";

    /// <summary>Segment duration of titles published on the bed (the origin's pipeline setting).</summary>
    public const int SegmentSeconds = 2;

    /// <summary>An appliance cut off from steering this long refuses new sessions (Appliance:Steering:LostAfter).</summary>
    public static readonly TimeSpan ApplianceLostAfter = TimeSpan.FromSeconds(4);

    /// <summary>The fill controller leaves an appliance silent this long out of a site's placement (FillController:Fill:RosterMaxSilence; heartbeats come every second).</summary>
    public static readonly TimeSpan FillRosterMaxSilence = TimeSpan.FromSeconds(5);

    /// <summary>The two sites: their appliances and client, and the prefixes steering maps to them.</summary>
    public static readonly IReadOnlyDictionary<string, (string[] Appliances, string Client, string[] Prefixes)> Sites =
        new Dictionary<string, (string[], string, string[])>(StringComparer.Ordinal)
        {
            ["site-a"] = (["a1", "a2"], "ca", ["198.18.1.0/24", "2001:2:0:1::/64"]),
            ["site-b"] = (["b1", "b2"], "cb", ["198.18.2.0/24", "2001:2:0:2::/64"]),
        };

    /// <summary>Who may fetch unsigned <c>/v/…</c> paths from appliances (peers, fill) and the origin (appliances, steering, fill controller): infrastructure and appliance addresses (.0-.15 of each site), never clients.</summary>
    public static readonly string[] UnsignedNetworks = ["198.18.0.0/24", "198.18.1.0/28", "198.18.2.0/28", "2001:2::/64"];

    /// <summary>Appliance <paramref name="id"/>'s access log (JSON lines): who fetched what from it, players and fill peers alike.</summary>
    public static string ApplianceAccessLog(FleetBed bed, string id) => bed.State.Combine("logs", id + "-access.log");

    public static string SiteOf(string appliance) => Sites.Single(s => s.Value.Appliances.Contains(appliance)).Key;

    /// <summary>Steering's control listener (Register, Heartbeat, Renew): mutual TLS, fleet certificates only.</summary>
    public static string SteeringControlUrl(FleetBed bed) => bed.Host("steering").SecureUrl(SteeringControlPort);

    /// <summary>Steering's enrollment listener: appliances enroll with a code, operators add and remove appliances.</summary>
    public static string SteeringEnrollUrl(FleetBed bed) => bed.Host("steering").SecureUrl(SteeringEnrollPort);

    public static string[] Steering(FleetBed bed, string dataDirectory) =>
    [
        // Players reach steering on both of its addresses; an IPv6 player gets the appliances' IPv6 URLs.
        "--urls", bed.Host("steering").DualStackUrls(SteeringPort),
        $"--Steering:DataDirectory={dataDirectory}",
        $"--Steering:ControlUrl={SteeringControlUrl(bed)}",
        $"--Steering:Fleet:EnrollUrl={SteeringEnrollUrl(bed)}",
        // Its certificate names both of its bed addresses (the listeners' host adds the IPv4 one too).
        $"--Steering:Fleet:ServerNames:0={bed.Host("steering").Ipv4}",
        $"--Steering:Fleet:ServerNames:1={bed.Host("steering").Ipv6}",
        $"--Steering:OriginUrl={bed.Host("origin").Url(OriginPort)}",
    ];

    public static string[] Origin(FleetBed bed, string dataDirectory, string playbackKey, string playbackMacKeyFile, string adminPasswordFile) =>
    [
        .. UnsignedNetworks.Select((n, i) => $"--Origin:ParentNetworks:{i}={n}"),
        "--urls", bed.Host("origin").Url(OriginPort),
        $"--Origin:DataDirectory={dataDirectory}",
        $"--Origin:PlaybackKeys:0={playbackKey}",
        $"--Origin:PlaybackMacKeyFile={playbackMacKeyFile}",
        $"--Origin:Pipeline:MaxHeight=360",
        $"--Origin:Pipeline:SegmentSeconds={SegmentSeconds}",
        "--Origin:Catalog:PasswordIterations=10000",
        $"--Origin:Catalog:AdminPasswordFile={adminPasswordFile}",
        // Appliances pull over TLS with fleet certificates; the operator issued the origin's into {dataDirectory}/fleet.
        $"--Origin:Fleet:ParentUrl={bed.Host("origin").SecureUrl(OriginParentPort)}",
        $"--Origin:Fleet:CertificateFile={Path.Combine(dataDirectory, "fleet", "origin.crt")}",
        $"--Origin:Fleet:KeyFile={Path.Combine(dataDirectory, "fleet", "origin.key")}",
        $"--Origin:Fleet:CaCertificateFile={Path.Combine(dataDirectory, "fleet", "ca.crt")}",
    ];

    /// <summary>The fill controller's control listener (fill orders for appliances, <c>/fill/sites</c> for operators): mutual TLS, fleet certificates only.</summary>
    public static string FillControlUrl(FleetBed bed) => bed.Host("fill").SecureUrl(FillControlPort);

    /// <summary>
    /// The fill controller with its fleet certificate in <c>{dataDirectory}/fleet/</c> (issued by the
    /// operator), which it also reads steering's roster and play history with.
    /// </summary>
    public static string[] FillController(FleetBed bed, string dataDirectory) =>
    [
        "--urls", bed.Host("fill").Url(FillPort),
        $"--FillController:DataDirectory={dataDirectory}",
        $"--FillController:Steering:Url={bed.Host("steering").Url(SteeringPort)}",
        $"--FillController:Origin:Url={bed.Host("origin").Url(OriginPort)}",
        $"--FillController:Fill:ControlUrl={FillControlUrl(bed)}",
        $"--FillController:Fill:SteeringControlUrl={SteeringControlUrl(bed)}",
        $"--FillController:Fill:RosterMaxSilence={FillRosterMaxSilence:c}",
        $"--FillController:Fill:OriginParentUrl={bed.Host("origin").SecureUrl(OriginParentPort)}",
    ];

    /// <summary>
    /// An appliance enrolled the production way: <paramref name="fleetDirectory"/> holds its own key
    /// and certificate (made on first start from the one-time code in <paramref name="enrollmentCodeFile"/>;
    /// later starts reuse them), <paramref name="caCertificateFile"/> is the fleet CA from steering.
    /// </summary>
    public static string[] Appliance(FleetBed bed, string id, string cacheDirectory, string fleetDirectory, string caCertificateFile, string enrollmentCodeFile, string playbackKey, string integrityKey)
    {
        var host = bed.Host(id);
        string[] settings =
        [
            "--urls", host.DualStackUrls(AppliancePort),
            $"--Appliance:PublicUrlIPv6={host.UrlIPv6(AppliancePort)}",
            $"--Appliance:AccessLog:Path={ApplianceAccessLog(bed, id)}",
            "--Appliance:AccessLog:Format=json",
            $"--Appliance:Id={id}",
            $"--Appliance:Site={SiteOf(id)}",
            $"--Appliance:Cache:Directory={cacheDirectory}",
            "--Appliance:Cache:RamBytes=67108864",
            "--Appliance:Cache:SsdBytes=536870912",
            // Parents over fleet TLS: the appliances listed before it in its site (a hierarchy, never a
            // cycle: peers do not detect loops), then the origin; each appliance serves parent pulls.
            .. Sites[SiteOf(id)].Appliances.TakeWhile(peer => peer != id).Append("origin")
                .Select((parent, i) => $"--Appliance:Parents:{i}={bed.Host(parent).SecureUrl(parent == "origin" ? OriginParentPort : ApplianceParentPort)}"),
            $"--Appliance:Upstream:ParentListenerUrl={host.SecureUrl(ApplianceParentPort)}",
            $"--Appliance:ControlUrl={host.SecureUrl(ApplianceControlPort)}",
            $"--Appliance:Steering:Url={SteeringControlUrl(bed)}",
            $"--Appliance:Fleet:Directory={fleetDirectory}",
            $"--Appliance:Fleet:CaCertificateFile={caCertificateFile}",
            $"--Appliance:Fleet:EnrollUrl={SteeringEnrollUrl(bed)}",
            $"--Appliance:Fleet:EnrollmentCodeFile={enrollmentCodeFile}",
            $"--Appliance:Steering:LostAfter={ApplianceLostAfter:c}",
            $"--Appliance:PlaybackKeys:0={playbackKey}",
            $"--Appliance:Upstream:IntegrityKeys:0={integrityKey}",
            $"--Appliance:Fill:ControllerUrl={bed.Host("fill").SecureUrl(FillControlPort)}",
            "--Appliance:Fill:PollInterval=00:00:02",
        ];
        return [.. settings, .. UnsignedNetworks.Select((n, i) => $"--Appliance:UnsignedNetworks:{i}={n}")];
    }
}
