namespace OpenConnect.Bench.Fleet;

/// <summary>
/// Everything one <c>bench fleet</c> run measured: the players' summaries per site, which host
/// (<c>address:port</c>) is which role, what the origin sent the appliances, and the chaos events.
/// </summary>
public sealed record FleetResult(
    FleetOptions Options,
    string Title,
    IReadOnlyList<ChaosIncident> Schedule,
    IReadOnlyList<ChaosEvent> Events,
    IReadOnlyList<(string Site, PlayersSummary Players)> Sites,
    IReadOnlyDictionary<string, string> Hosts,
    double OriginToAppliancesBytes,
    double FillBytes,
    double WallSeconds,
    double LoadBefore,
    double LoadAfter)
{
    public const string Origin = "origin";
    public const string Steering = "steering";

    /// <summary>The goal: no failed start, and rebuffer ratio under 0.5 %.</summary>
    public const double RebufferGoal = 0.005;

    public PlayersSummary All => PlayersSummary.Sum("all", [.. Sites.Select(s => s.Players)]);

    /// <summary>Bytes players fetched, per role (appliance id, <c>origin</c>, <c>steering</c>; unknown hosts by address).</summary>
    public Dictionary<string, long> BytesByRole(PlayersSummary players)
    {
        var roles = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (host, bytes) in players.BytesByHost)
        {
            var role = Hosts.GetValueOrDefault(host, host);
            roles[role] = roles.GetValueOrDefault(role) + bytes;
        }

        return roles;
    }

    /// <summary>Bytes players fetched from appliances (any site).</summary>
    public long FromAppliances(PlayersSummary players) => BytesByRole(players).Where(r => r.Key is not Origin and not Steering).Sum(r => r.Value);

    /// <summary>Bytes players fetched from the origin's pathway directly.</summary>
    public long FromOrigin(PlayersSummary players) => BytesByRole(players).GetValueOrDefault(Origin);

    /// <summary>
    /// What the origin served: to players directly plus to appliances' pull-through (their only
    /// parent). Fill is reported apart: its source may be a peer appliance.
    /// </summary>
    public double OriginServedBytes => FromOrigin(All) + OriginToAppliancesBytes;

    public bool GoalMet => All.FailedStarts == 0 && All.RebufferRatio is var r && (double.IsNaN(r) || r < RebufferGoal) && All.Started > 0;
}
