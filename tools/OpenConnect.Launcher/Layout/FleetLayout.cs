namespace OpenConnect.Launcher.Layout;

/// <summary>
/// A fleet's shape and addresses: which roles run where, on which ports, the sites and their
/// appliances' parents, and where each role keeps its state under one state directory. Every role
/// derives its listeners from one data port P: its control listener (mutual TLS) on P + 80,
/// steering's enrollment on P + 81, parent pulls (TLS with fleet certificates) on P + 43, and its
/// management listener (<c>/healthz</c>, <c>/metrics</c>) on 127.0.0.1:P + 1000 on loopback, or
/// 127.0.0.1:9000 inside its own namespace on the bed.
/// </summary>
public sealed class FleetLayout
{
    public const string Steering = "steering";
    public const string Origin = "origin";
    public const string FillController = "fill-controller";

    /// <summary>The bed's fixed data ports (the same scheme as loopback, one port per role kind).</summary>
    public const int BedOriginPort = 8100;
    public const int BedSteeringPort = 8200;
    public const int BedFillPort = 8300;
    public const int BedAppliancePort = 8400;

    /// <summary>Most steering replicas a fleet runs.</summary>
    public const int MaxSteeringReplicas = 9;

    /// <summary>On loopback, replica i (from 0) of steering uses the steering port + i × this.</summary>
    public const int SteeringReplicaPortStep = 5;

    public const int ParentOffset = 43;
    public const int ControlOffset = 80;
    public const int EnrollOffset = 81;
    public const int ManagementOffset = 1000;

    /// <summary>Every role's management listener on the bed: loopback inside its own namespace.</summary>
    public const string BedManagementUrl = "http://127.0.0.1:9000";

    private readonly Dictionary<string, (FleetHost Host, int Port)> _roles;

    private FleetLayout(FleetAddressing addressing, string stateDirectory, IReadOnlyList<FleetSite> sites, bool fillController, IReadOnlyList<string> unsignedNetworks, Dictionary<string, (FleetHost, int)> roles, int steeringReplicas)
    {
        SteeringReplicas = [Steering, .. Enumerable.Range(2, steeringReplicas - 1).Select(SteeringReplica)];
        Addressing = addressing;
        StateDirectory = Path.GetFullPath(stateDirectory);
        Sites = sites;
        HasFillController = fillController;
        UnsignedNetworks = unsignedNetworks;
        _roles = roles;
        Appliances = [.. sites.SelectMany(s => s.Appliances)];
        var duplicate = Appliances.GroupBy(a => a, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1 || g.Key is Steering or Origin or FillController || SteeringReplicas.Contains(g.Key, StringComparer.Ordinal));
        if (duplicate is not null)
        {
            throw new ArgumentException($"appliance id '{duplicate.Key}' is used twice or names another role");
        }
    }

    public FleetAddressing Addressing { get; }

    /// <summary>The directory every role keeps its state under (absolute).</summary>
    public string StateDirectory { get; }

    public IReadOnlyList<FleetSite> Sites { get; }

    /// <summary>Whether the fleet has a fill controller (the benches run without one).</summary>
    public bool HasFillController { get; }

    /// <summary>Who may fetch unsigned <c>/v/…</c> paths from appliances (peers, fill, local tools).</summary>
    public IReadOnlyList<string> UnsignedNetworks { get; }

    /// <summary>Every appliance id, site by site, each in its site's parent order.</summary>
    public IReadOnlyList<string> Appliances { get; }

    /// <summary>
    /// Steering's instances: <c>steering</c> (it makes the fleet CA, the signing key and the operator
    /// token, and takes enrollment), then the replicas <c>steering-2</c>, <c>steering-3</c>, … that share
    /// those files and nothing else. Every appliance, the origin and the fill controller talk to all of them.
    /// </summary>
    public IReadOnlyList<string> SteeringReplicas { get; }

    /// <summary>The roles in start order: steering and its replicas, origin, the fill controller, then the appliances.</summary>
    public IReadOnlyList<string> Roles => [.. SteeringReplicas, Origin, .. HasFillController ? (string[])[FillController] : [], .. Appliances];

    /// <summary>The name of steering replica <paramref name="number"/> (2, 3, …; 1 is <c>steering</c> itself).</summary>
    public static string SteeringReplica(int number) => number == 1 ? Steering : $"{Steering}-{number}";

    /// <summary>Every steering instance's control listener, <c>steering</c> first.</summary>
    public IReadOnlyList<string> SteeringControlUrls => [.. SteeringReplicas.Select(ControlUrl)];

    /// <summary>
    /// Every role on 127.0.0.1 (run.sh's fleet): one site, <paramref name="site"/>, holding the
    /// appliances in the given order, with loopback clients mapped to it.
    /// </summary>
    public static FleetLayout Loopback(string stateDirectory, int originPort, int steeringPort, int? fillPort, IReadOnlyList<(string Id, int Port)> appliances, string site = "local", int steeringReplicas = 1)
    {
        CheckReplicas(steeringReplicas);
        var roles = new Dictionary<string, (FleetHost, int)>(StringComparer.Ordinal)
        {
            [Origin] = (FleetHost.Loopback, CheckPort(Origin, originPort)),
        };
        for (var i = 0; i < steeringReplicas; i++)
        {
            var name = SteeringReplica(i + 1);
            roles[name] = (FleetHost.Loopback, CheckPort(name, steeringPort + (i * SteeringReplicaPortStep)));
        }

        if (fillPort is { } fill)
        {
            roles[FillController] = (FleetHost.Loopback, CheckPort(FillController, fill));
        }

        foreach (var (id, port) in appliances)
        {
            roles[id] = (FleetHost.Loopback, CheckPort(id, port));
        }

        var taken = roles.Values.Select(r => r.Item2).ToList();
        if (taken.Distinct().Count() != taken.Count)
        {
            throw new ArgumentException($"every role needs its own port (given: {string.Join(", ", taken)})");
        }

        return new FleetLayout(FleetAddressing.Loopback, stateDirectory, [new FleetSite(site, [.. appliances.Select(a => a.Id)], ["127.0.0.0/8", "::1/128"])], fillPort is not null, ["127.0.0.0/8"], roles, steeringReplicas);
    }

    /// <summary>
    /// Every role on its own bed host (<paramref name="hosts"/> by name, as <c>scripts/fleet-bed.sh up</c>
    /// prints them): steering on <c>steering</c>, the origin on <c>origin</c>, the fill controller on
    /// <c>fill</c>, each appliance on the host named after it; the bed's fixed ports.
    /// </summary>
    public static FleetLayout Namespaces(string stateDirectory, IReadOnlyDictionary<string, FleetHost> hosts, IReadOnlyList<FleetSite> sites, IReadOnlyList<string> unsignedNetworks, int steeringReplicas = 1)
    {
        CheckReplicas(steeringReplicas);
        FleetHost HostOf(string name) => hosts.TryGetValue(name, out var host) ? host : throw new ArgumentException($"the bed has no host '{name}' (hosts: {string.Join(", ", hosts.Keys)})");
        var roles = new Dictionary<string, (FleetHost, int)>(StringComparer.Ordinal)
        {
            [Origin] = (HostOf("origin"), BedOriginPort),
            [FillController] = (HostOf("fill"), BedFillPort),
        };
        for (var i = 1; i <= steeringReplicas; i++)
        {
            // Each replica on its own bed host (steering, steering-2, …), on the same port.
            roles[SteeringReplica(i)] = (HostOf(SteeringReplica(i)), BedSteeringPort);
        }

        foreach (var id in sites.SelectMany(s => s.Appliances))
        {
            roles[id] = (HostOf(id), BedAppliancePort);
        }

        return new FleetLayout(FleetAddressing.Namespaces, stateDirectory, sites, fillController: true, unsignedNetworks, roles, steeringReplicas);
    }

    private static void CheckReplicas(int replicas)
    {
        if (replicas is < 1 or > MaxSteeringReplicas)
        {
            throw new ArgumentOutOfRangeException(nameof(replicas), replicas, $"steering replicas must be 1-{MaxSteeringReplicas}");
        }
    }

    private static int CheckPort(string role, int port) =>
        port is >= 1 and <= 65535 - ManagementOffset ? port : throw new ArgumentOutOfRangeException(nameof(port), port, $"{role}'s port must be 1-{65535 - ManagementOffset} (its management listener is on the port + {ManagementOffset})");

    public bool IsAppliance(string role) => Appliances.Contains(role, StringComparer.Ordinal);

    public bool IsSteering(string role) => SteeringReplicas.Contains(role, StringComparer.Ordinal);

    public FleetHost Host(string role) => Role(role).Host;

    /// <summary>The role's data port (players, uploads, the API).</summary>
    public int Port(string role) => Role(role).Port;

    /// <summary>The role's data URL (on its IPv4 address).</summary>
    public string Url(string role) => Host(role).Url(Port(role));

    /// <summary>The control listener (mutual TLS): steering's control plane, the fill controller's fill orders, an appliance's control endpoint.</summary>
    public string ControlUrl(string role) => Host(role).SecureUrl(Port(role) + ControlOffset);

    /// <summary>Steering's enrollment listener: appliances enroll with a code, operators add and remove appliances and issue certificates.</summary>
    public string EnrollUrl => Host(Steering).SecureUrl(Port(Steering) + EnrollOffset);

    /// <summary>The parent listener (TLS, fleet certificates only) of the origin or an appliance.</summary>
    public string ParentUrl(string role) => Host(role).SecureUrl(Port(role) + ParentOffset);

    /// <summary>The role's management listener (<c>/healthz</c>, <c>/metrics</c>), as reached from its own host.</summary>
    public string ManagementUrl(string role) =>
        Addressing == FleetAddressing.Loopback ? $"http://127.0.0.1:{Port(role) + ManagementOffset}" : BedManagementUrl;

    public string SiteOf(string appliance) =>
        Sites.FirstOrDefault(s => s.Appliances.Contains(appliance, StringComparer.Ordinal))?.Name ?? throw new ArgumentException($"no appliance '{appliance}' in the fleet ({string.Join(", ", Appliances)})", nameof(appliance));

    /// <summary>
    /// An appliance's parents, nearest first: the appliances listed before it in its site, then the
    /// origin (a hierarchy, never a cycle: peers do not detect loops).
    /// </summary>
    public IReadOnlyList<string> Parents(string appliance)
    {
        var site = Sites.Single(s => s.Name == SiteOf(appliance));
        return [.. site.Appliances.TakeWhile(a => a != appliance), Origin];
    }

    /// <summary>The role's data directory (an appliance's cache directory).</summary>
    public string DataDirectory(string role) => StatePath(role);

    /// <summary>Steering's fleet directory: the fleet CA it makes (<c>ca.crt</c>, <c>ca.key</c>) and the operator token.</summary>
    public string FleetDirectory => StatePath(Steering, "fleet");

    public string CaCertificateFile => Path.Combine(FleetDirectory, "ca.crt");

    public string OperatorTokenFile => Path.Combine(FleetDirectory, "operator.token");

    /// <summary>Where a role's fleet key and certificate live: <c>{state}/{role}-fleet</c> (an appliance's also holds its enrollment code).</summary>
    public string FleetCertificateDirectory(string role) => StatePath(role + "-fleet");

    /// <summary>The operator's key and certificate (<c>operator.key</c>, <c>operator.crt</c>).</summary>
    public string OperatorDirectory => StatePath("operator");

    /// <summary>The catalog's built-in admin password (made once, kept).</summary>
    public string AdminPasswordFile => StatePath("admin.password");

    /// <summary>Steering's playback public key, written by steering at start.</summary>
    public string PlaybackKeyFile => StatePath(Steering, "keys", "steering-signing.pub");

    /// <summary>The origin's playback MAC key, which steering writes beside its signing key at start (v2 playback tokens).</summary>
    public string OriginPlaybackMacKeyFile => StatePath(Steering, "keys", "origin-playback-mac.key");

    /// <summary>The origin's integrity manifest public key, written by the origin at start.</summary>
    public string IntegrityKeyFile => StatePath(Origin, "keys", "origin-signing.pub");

    /// <summary>Steering's signing key, which its replicas share (the v1 public key and every v2 MAC key derive from it).</summary>
    public string SigningKeyFile => StatePath(Steering, "keys", "steering-signing.key");

    /// <summary>The prefix tables, one file per site, read by every steering replica.</summary>
    public string PrefixDirectory => StatePath(Steering, "prefixes");

    public string PrefixFile(string site) => Path.Combine(PrefixDirectory, site + ".prefixes");

    public string LogDirectory => StatePath("logs");

    public string LogFile(string role) => Path.Combine(LogDirectory, role + ".log");

    public string StatePath(params string[] parts) => Path.Combine([StateDirectory, .. parts]);

    private (FleetHost Host, int Port) Role(string role) =>
        _roles.TryGetValue(role, out var r) ? r : throw new ArgumentException($"no role '{role}' in the fleet ({string.Join(", ", _roles.Keys)})", nameof(role));
}
