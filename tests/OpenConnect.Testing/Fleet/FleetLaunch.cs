namespace OpenConnect.Testing.Fleet;

/// <summary>
/// How every role of the bed is started: ports, addresses and settings, in this one place (the
/// settings run.sh uses, on the bed's addresses). Mutual TLS and enrollment change only this file.
/// </summary>
public static class FleetLaunch
{
    public const int OriginPort = 8100;
    public const int SteeringPort = 8200;
    public const int SteeringControlPort = 8280;
    public const int FillPort = 8300;
    public const int FillControlPort = 8380;
    public const int AppliancePort = 8400;
    public const int ApplianceControlPort = 8480;

    /// <summary>Segment duration of titles published on the bed (the origin's pipeline setting).</summary>
    public const int SegmentSeconds = 2;

    /// <summary>An appliance cut off from steering this long refuses new sessions (Appliance:Steering:LostAfter).</summary>
    public static readonly TimeSpan ApplianceLostAfter = TimeSpan.FromSeconds(4);

    /// <summary>The two sites: their appliances and client, and the prefixes steering maps to them.</summary>
    public static readonly IReadOnlyDictionary<string, (string[] Appliances, string Client, string[] Prefixes)> Sites =
        new Dictionary<string, (string[], string, string[])>(StringComparer.Ordinal)
        {
            ["site-a"] = (["a1", "a2"], "ca", ["198.18.1.0/24", "2001:2:0:1::/64"]),
            ["site-b"] = (["b1", "b2"], "cb", ["198.18.2.0/24", "2001:2:0:2::/64"]),
        };

    /// <summary>Who may fetch unsigned <c>/v/…</c> paths from appliances (peers, fill) and the origin (appliances, steering, fill controller): infrastructure and appliance addresses (.0-.15 of each site), never clients.</summary>
    public static readonly string[] UnsignedNetworks = ["198.18.0.0/24", "198.18.1.0/28", "198.18.2.0/28", "2001:2::/64"];

    public static string SiteOf(string appliance) => Sites.Single(s => s.Value.Appliances.Contains(appliance)).Key;

    public static string[] Steering(FleetBed bed, string dataDirectory) =>
    [
        "--urls", bed.Host("steering").Url(SteeringPort),
        $"--Steering:DataDirectory={dataDirectory}",
        $"--Steering:ControlUrl={bed.Host("steering").Url(SteeringControlPort)}",
        $"--Steering:OriginUrl={bed.Host("origin").Url(OriginPort)}",
    ];

    public static string[] Origin(FleetBed bed, string dataDirectory, string playbackKey, string adminPasswordFile) =>
    [
        .. UnsignedNetworks.Select((n, i) => $"--Origin:ParentNetworks:{i}={n}"),
        "--urls", bed.Host("origin").Url(OriginPort),
        $"--Origin:DataDirectory={dataDirectory}",
        $"--Origin:PlaybackKeys:0={playbackKey}",
        $"--Origin:Pipeline:MaxHeight=360",
        $"--Origin:Pipeline:SegmentSeconds={SegmentSeconds}",
        "--Origin:Catalog:PasswordIterations=10000",
        $"--Origin:Catalog:AdminPasswordFile={adminPasswordFile}",
    ];

    public static string[] FillController(FleetBed bed, string dataDirectory) =>
    [
        "--urls", bed.Host("fill").Url(FillPort),
        $"--FillController:DataDirectory={dataDirectory}",
        $"--FillController:Steering:Url={bed.Host("steering").Url(SteeringPort)}",
        $"--FillController:Origin:Url={bed.Host("origin").Url(OriginPort)}",
        $"--FillController:Fill:ControlUrl={bed.Host("fill").Url(FillControlPort)}",
        $"--FillController:Fill:SteeringControlUrl={bed.Host("steering").Url(SteeringControlPort)}",
    ];

    public static string[] Appliance(FleetBed bed, string id, string cacheDirectory, string playbackKey, string integrityKey)
    {
        var host = bed.Host(id);
        string[] settings =
        [
            "--urls", host.Url(AppliancePort),
            $"--Appliance:Id={id}",
            $"--Appliance:Site={SiteOf(id)}",
            $"--Appliance:Cache:Directory={cacheDirectory}",
            "--Appliance:Cache:RamBytes=67108864",
            "--Appliance:Cache:SsdBytes=536870912",
            $"--Appliance:Parents:0={bed.Host("origin").Url(OriginPort)}",
            $"--Appliance:ControlUrl={host.Url(ApplianceControlPort)}",
            $"--Appliance:Steering:Url={bed.Host("steering").Url(SteeringControlPort)}",
            $"--Appliance:Steering:LostAfter={ApplianceLostAfter:c}",
            $"--Appliance:PlaybackKeys:0={playbackKey}",
            $"--Appliance:Upstream:IntegrityKeys:0={integrityKey}",
            $"--Appliance:Fill:ControllerUrl={bed.Host("fill").Url(FillControlPort)}",
            "--Appliance:Fill:PollInterval=00:00:02",
        ];
        return [.. settings, .. UnsignedNetworks.Select((n, i) => $"--Appliance:UnsignedNetworks:{i}={n}")];
    }
}
