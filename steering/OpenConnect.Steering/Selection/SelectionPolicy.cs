namespace OpenConnect.Steering.Selection;

/// <summary>The knobs of <see cref="PathwaySelector"/>.</summary>
/// <param name="HeartbeatExpiry">An appliance silent for longer is not a candidate.</param>
/// <param name="MaxLoadFraction">A candidate's load (output against capacity, connections against the maximum) must be below this.</param>
/// <param name="Pathways">How many appliances to return at most.</param>
/// <param name="SheddingStart">
/// Load above which a candidate's rendezvous weight falls, linearly to <see cref="MinimumLoadWeight"/> at
/// <paramref name="MaxLoadFraction"/>; at or above <paramref name="MaxLoadFraction"/> it turns shedding off.
/// </param>
public sealed record SelectionPolicy(TimeSpan HeartbeatExpiry, double MaxLoadFraction, int Pathways, double SheddingStart = 1.0)
{
    /// <summary>The weight factor of a candidate just below the cut-off: it still wins a few titles, so placement never flips all at once.</summary>
    public const double MinimumLoadWeight = 0.05;

    /// <summary>True when <paramref name="appliance"/> may take a new play at <paramref name="now"/>.</summary>
    public bool IsEligible(ApplianceView appliance, DateTimeOffset now) => IsEligible(appliance, appliance.Status, now);

    /// <summary>True when <paramref name="appliance"/>, in <paramref name="status"/>, may take a new play at <paramref name="now"/>.</summary>
    public bool IsEligible(ApplianceView appliance, ApplianceStatus status, DateTimeOffset now) =>
        IsEligible(status.LastHeartbeat, status.CacheHealthy && !status.Draining, status.BytesPerSecondOut, status.Connections, appliance.CapacityBytesPerSecond, appliance.MaxConnections, now);

    /// <summary>True when site member <paramref name="member"/> may take a new play at <paramref name="now"/>.</summary>
    public bool IsEligible(in SiteMember member, DateTimeOffset now) =>
        IsEligible(member.LastHeartbeat, member.Available, member.BytesPerSecondOut, member.Connections, member.CapacityBytesPerSecond, member.MaxConnections, now);

    public bool IsAlive(ApplianceStatus status, DateTimeOffset now) => now - status.LastHeartbeat <= HeartbeatExpiry;

    private bool IsEligible(DateTimeOffset lastHeartbeat, bool available, long bytesOut, int connections, long capacity, int maxConnections, DateTimeOffset now) =>
        now - lastHeartbeat <= HeartbeatExpiry
        && available
        && bytesOut < capacity * MaxLoadFraction
        && (maxConnections <= 0 || connections < maxConnections);

    /// <summary>
    /// The load of an appliance in <paramref name="status"/>: the larger of its output against its
    /// capacity and its connections against its maximum (0 when it has none).
    /// </summary>
    public static double Load(ApplianceView appliance, ApplianceStatus status) =>
        Load(status.BytesPerSecondOut, status.Connections, appliance.CapacityBytesPerSecond, appliance.MaxConnections);

    /// <summary>The load of an appliance sending <paramref name="bytesOut"/> on <paramref name="connections"/>, against its capacity and maximum.</summary>
    public static double Load(long bytesOut, int connections, long capacity, int maxConnections)
    {
        var bytes = (double)bytesOut / Math.Max(capacity, 1);
        var share = maxConnections > 0 ? (double)connections / maxConnections : 0;
        return Math.Max(bytes, share);
    }

    /// <summary>
    /// The factor on a candidate's rendezvous weight for its load: 1 up to <see cref="SheddingStart"/>,
    /// then falling linearly to <see cref="MinimumLoadWeight"/> at <see cref="MaxLoadFraction"/>.
    /// </summary>
    public double LoadWeight(double load)
    {
        if (load <= SheddingStart || SheddingStart >= MaxLoadFraction)
        {
            return 1.0;
        }

        var over = Math.Min(1.0, (load - SheddingStart) / (MaxLoadFraction - SheddingStart));
        return 1.0 - (over * (1.0 - MinimumLoadWeight));
    }
}
