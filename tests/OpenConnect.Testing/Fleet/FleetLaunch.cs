using OpenConnect.Launcher.Layout;

namespace OpenConnect.Testing.Fleet;

/// <summary>
/// The bed's fleet, as the launcher starts it (<see cref="FleetLayout.Namespaces"/>): its sites,
/// ports, and the settings the bed adds to every role's own (short timeouts so tests see failover
/// in seconds, a small fast ladder, the access logs the tests read). Every role's management
/// listener (<c>/healthz</c>, <c>/metrics</c>) stays on loopback inside its host's namespace, as in production.
/// </summary>
public static class FleetLaunch
{
    public const int OriginPort = FleetLayout.BedOriginPort;
    public const int SteeringPort = FleetLayout.BedSteeringPort;
    public const int SteeringControlPort = SteeringPort + FleetLayout.ControlOffset;
    public const int SteeringEnrollPort = SteeringPort + FleetLayout.EnrollOffset;
    public const int FillPort = FleetLayout.BedFillPort;
    public const int FillControlPort = FillPort + FleetLayout.ControlOffset;
    public const int AppliancePort = FleetLayout.BedAppliancePort;
    public const int ApplianceControlPort = AppliancePort + FleetLayout.ControlOffset;

    /// <summary>Parent pulls over fleet TLS: the origin's fleet parent listener and each appliance's parent listener.</summary>
    public const int OriginParentPort = OriginPort + FleetLayout.ParentOffset;
    public const int ApplianceParentPort = AppliancePort + FleetLayout.ParentOffset;

    /// <summary>Every role's management listener, on loopback inside its own namespace (reached with <c>ip netns exec</c>).</summary>
    public const string ManagementUrl = FleetLayout.BedManagementUrl;

    /// <summary>Segment duration of titles published on the bed (the origin's pipeline setting).</summary>
    public const int SegmentSeconds = 2;

    /// <summary>Steering drops an appliance it has not heard from for this long (Steering:HeartbeatExpiry: its default, which the bed keeps).</summary>
    public static readonly TimeSpan SteeringHeartbeatExpiry = TimeSpan.FromSeconds(3);

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

    /// <summary>The bed's layout over <paramref name="hosts"/> (as <c>scripts/fleet-bed.sh up</c> printed them).</summary>
    public static FleetLayout Layout(string stateDirectory, IReadOnlyDictionary<string, FleetHost> hosts, int steeringReplicas = 1) =>
        FleetLayout.Namespaces(stateDirectory, hosts, [.. Sites.Select(s => new FleetSite(s.Key, s.Value.Appliances, s.Value.Prefixes, s.Value.Client))], UnsignedNetworks, steeringReplicas);

    /// <summary>Appliance <paramref name="id"/>'s access log (JSON lines): who fetched what from it, players and fill peers alike.</summary>
    public static string ApplianceAccessLog(FleetBed bed, string id) => AccessLogFile(bed.Layout, id);

    private static string AccessLogFile(FleetLayout layout, string id) => Path.Combine(layout.LogDirectory, id + "-access.log");

    public static string SiteOf(string appliance) => Sites.Single(s => s.Value.Appliances.Contains(appliance)).Key;

    /// <summary>Steering's control listener (Register, Heartbeat, Renew): mutual TLS, fleet certificates only.</summary>
    public static string SteeringControlUrl(FleetBed bed) => bed.Layout.ControlUrl(FleetLayout.Steering);

    /// <summary>Steering's enrollment listener: appliances enroll with a code, operators add and remove appliances.</summary>
    public static string SteeringEnrollUrl(FleetBed bed) => bed.Layout.EnrollUrl;

    /// <summary>The fill controller's control listener (fill orders for appliances, <c>/fill/sites</c> for operators): mutual TLS, fleet certificates only.</summary>
    public static string FillControlUrl(FleetBed bed) => bed.Layout.ControlUrl(FleetLayout.FillController);

    /// <summary>What the bed adds to role <paramref name="role"/>'s own settings (the launcher's); later settings win.</summary>
    public static IEnumerable<string> ExtraSettings(FleetLayout layout, string role)
    {
        IEnumerable<string> extra = role switch
        {
            FleetLayout.Origin =>
            [
                .. UnsignedNetworks.Select((n, i) => $"--Origin:ParentNetworks:{i}={n}"),
                "--Origin:Pipeline:MaxHeight=360",
                $"--Origin:Pipeline:SegmentSeconds={SegmentSeconds}",
                "--Origin:Catalog:PasswordIterations=10000",
            ],
            FleetLayout.FillController => [$"--FillController:Fill:RosterMaxSilence={FillRosterMaxSilence:c}"],
            _ when layout.IsSteering(role) => [],
            _ =>
            [
                $"--Appliance:AccessLog:Path={AccessLogFile(layout, role)}",
                "--Appliance:AccessLog:Format=json",
                "--Appliance:Cache:RamBytes=67108864",
                "--Appliance:Cache:SsdBytes=536870912",
                $"--Appliance:Steering:LostAfter={ApplianceLostAfter:c}",
            ],
        };
        return [.. extra, "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:OpenConnect=Information"];
    }
}
