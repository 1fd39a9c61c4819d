namespace OpenConnect.Steering.Selection;

/// <summary>The knobs of <see cref="PathwaySelector"/>.</summary>
/// <param name="HeartbeatExpiry">An appliance silent for longer is not a candidate.</param>
/// <param name="MaxLoadFraction">A candidate's output must be below this fraction of its capacity.</param>
/// <param name="Pathways">How many appliances to return at most.</param>
public sealed record SelectionPolicy(TimeSpan HeartbeatExpiry, double MaxLoadFraction, int Pathways)
{
    /// <summary>True when <paramref name="appliance"/> may take a new play at <paramref name="now"/>.</summary>
    public bool IsEligible(ApplianceView appliance, DateTimeOffset now)
    {
        var status = appliance.Status;
        return IsAlive(status, now)
            && status.CacheHealthy
            && !status.Draining
            && status.BytesPerSecondOut < appliance.CapacityBytesPerSecond * MaxLoadFraction
            && (appliance.MaxConnections <= 0 || status.Connections < appliance.MaxConnections);
    }

    public bool IsAlive(ApplianceStatus status, DateTimeOffset now) => now - status.LastHeartbeat <= HeartbeatExpiry;
}
