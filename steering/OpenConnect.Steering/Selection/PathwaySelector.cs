using OpenConnect.Contracts.Placement;
namespace OpenConnect.Steering.Selection;

/// <summary>
/// Chooses the appliances for one play: pure and deterministic, so ranking is tested with tables.
/// </summary>
/// <remarks>
/// Order: eligible appliances of the client's site that hold the title, then the site's other
/// eligible appliances (they fill from their parents), then eligible appliances of other sites that
/// hold the title (only when the client's site leaves room; at most
/// <see cref="MaxRemoteHoldersScanned"/> of them are scored). Within each tier, weighted rendezvous hashing on (title, appliance) decides, so
/// the same title lands on the same appliances and different titles spread. The weight is the
/// appliance's capacity, lowered by its load above <see cref="SelectionPolicy.SheddingStart"/>
/// (<see cref="Score"/>): a hot appliance sheds new sessions to its tier peers before its cut-off. The origin is not an
/// appliance: callers append it as the last pathway.
/// </remarks>
public static class PathwaySelector
{
    public const int MaxPathways = 16;

    /// <summary>At most this many holders of a title in other sites are considered per decision.</summary>
    public const int MaxRemoteHoldersScanned = 256;

    private const int LocalHolder = 0;
    private const int LocalOther = 1;
    private const int RemoteHolder = 2;

    /// <summary>
    /// Ranks candidates into <paramref name="result"/> (best first) and returns how many were written.
    /// </summary>
    /// <param name="title">The title played.</param>
    /// <param name="titleHash">Its <see cref="Rendezvous.HashTitle"/>.</param>
    /// <param name="titleId">
    /// Its id in the registry the statuses come from (<see cref="ControlPlane.ApplianceRegistry.Holders(string, out int)"/>;
    /// -1 when no appliance holds it), tested against <see cref="ApplianceStatus.TitleIds"/>; statuses without ids test <see cref="ApplianceStatus.Titles"/>.
    /// </param>
    /// <param name="clientSite">The client's site.</param>
    /// <param name="local">The appliances registered in the client's site (<see cref="ControlPlane.ApplianceRegistry.Members"/>).</param>
    /// <param name="holders">Appliances anywhere that hold the title (those of the client's site are skipped here).</param>
    /// <param name="now">The decision time.</param>
    /// <param name="policy">Eligibility and count.</param>
    /// <param name="result">Receives at most <see cref="SelectionPolicy.Pathways"/> appliances.</param>
    public static int Rank(
        string title,
        ulong titleHash,
        int titleId,
        string clientSite,
        ReadOnlySpan<SiteMember> local,
        ReadOnlySpan<ApplianceView> holders,
        DateTimeOffset now,
        SelectionPolicy policy,
        Span<ApplianceView?> result)
    {
        var capacity = Math.Min(Math.Min(policy.Pathways, MaxPathways), result.Length);
        Span<int> tiers = stackalloc int[MaxPathways];
        Span<double> scores = stackalloc double[MaxPathways];
        var count = 0;

        foreach (ref readonly var member in local)
        {
            if (policy.IsEligible(member, now))
            {
                var tier = member.Holds(title, titleId) ? LocalHolder : LocalOther;
                var load = SelectionPolicy.Load(member.BytesPerSecondOut, member.Connections, member.CapacityBytesPerSecond, member.MaxConnections);
                Offer(member.View, tier, WeightedScore(titleHash, member.IdHash, member.CapacityBytesPerSecond, load, policy), result, tiers, scores, ref count, capacity);
            }
        }

        // Remote holders rank below every local appliance: look at them only when the site leaves
        // room. A popular title may be held by thousands of appliances; scan a bounded window of
        // them, starting at a title-dependent offset, so a decision stays cheap and deterministic.
        if (count < capacity && holders.Length > 0)
        {
            var scanned = Math.Min(holders.Length, MaxRemoteHoldersScanned);
            var start = (int)(titleHash % (ulong)holders.Length);
            for (var i = 0; i < scanned; i++)
            {
                var appliance = holders[(start + i) % holders.Length];
                var status = appliance.Status;
                if (!string.Equals(appliance.Site, clientSite, StringComparison.Ordinal) && policy.IsEligible(appliance, status, now))
                {
                    Offer(appliance, RemoteHolder, Score(titleHash, appliance, status, policy), result, tiers, scores, ref count, capacity);
                }
            }
        }

        return count;
    }

    /// <summary>Convenience form over a flat list of appliances (tests, tools): builds the site and holder views first.</summary>
    public static IReadOnlyList<ApplianceView> Rank(string title, string clientSite, IEnumerable<ApplianceView> all, DateTimeOffset now, SelectionPolicy policy)
    {
        var list = all.ToList();
        var local = SiteMember.Of(list.Where(a => a.Site == clientSite));
        var holders = list.Where(a => a.Status.Titles.Contains(title)).ToArray();
        var result = new ApplianceView?[MaxPathways];
        var n = Rank(title, Rendezvous.HashTitle(title), -1, clientSite, local, holders, now, policy, result);
        return result[..n].Select(a => a!).ToArray();
    }

    /// <summary>
    /// The weighted rendezvous score of a candidate: capacity is its weight, scaled down by its load
    /// above the shedding start (<see cref="SelectionPolicy.LoadWeight"/>), so a hot appliance keeps
    /// fewer of the titles it would win and its peers of the same tier take them.
    /// </summary>
    public static double Score(ulong titleHash, ApplianceView appliance, ApplianceStatus status, SelectionPolicy policy) =>
        WeightedScore(titleHash, appliance.IdHash, appliance.CapacityBytesPerSecond, SelectionPolicy.Load(appliance, status), policy);

    private static double WeightedScore(ulong titleHash, ulong idHash, long capacity, double load, SelectionPolicy policy) =>
        Rendezvous.Score(titleHash, idHash, capacity) * policy.LoadWeight(load);

    private static void Offer(ApplianceView appliance, int tier, double score, Span<ApplianceView?> result, Span<int> tiers, Span<double> scores, ref int count, int capacity)
    {
        // Insertion into a short sorted array: (tier ascending, score descending).
        var position = count;
        while (position > 0 && Better(tier, score, tiers[position - 1], scores[position - 1]))
        {
            position--;
        }

        if (position >= capacity)
        {
            return;
        }

        var last = Math.Min(count, capacity - 1);
        for (var i = last; i > position; i--)
        {
            result[i] = result[i - 1];
            tiers[i] = tiers[i - 1];
            scores[i] = scores[i - 1];
        }

        result[position] = appliance;
        tiers[position] = tier;
        scores[position] = score;
        if (count < capacity)
        {
            count++;
        }
    }

    private static bool Better(int tier, double score, int otherTier, double otherScore) =>
        tier < otherTier || (tier == otherTier && score > otherScore);
}
