namespace OpenConnect.Bench.Players;

/// <summary>Which pathway a Content Steering player uses next (pure: tested with <c>[Theory]</c>).</summary>
public static class PathwayChoice
{
    /// <summary>
    /// The next pathway to try: the first in <paramref name="priority"/> not yet tried for this
    /// request and out of the penalty box at <paramref name="now"/>; failing that, the untried one
    /// whose penalty ends first (it may have recovered); -1 when every pathway was tried.
    /// </summary>
    public static int Next(IReadOnlyList<int> priority, IReadOnlyList<bool> tried, IReadOnlyList<double> penalizedUntil, double now)
    {
        var fallback = -1;
        foreach (var p in priority)
        {
            if (tried[p])
            {
                continue;
            }

            if (penalizedUntil[p] <= now)
            {
                return p;
            }

            if (fallback < 0 || penalizedUntil[p] < penalizedUntil[fallback])
            {
                fallback = p;
            }
        }

        return fallback;
    }

    /// <summary>
    /// The indices of <paramref name="pathways"/> in the order of steering's <c>PATHWAY-PRIORITY</c>
    /// (unknown ids skipped: this player does not clone); pathways the manifest leaves out follow in
    /// playlist order, as a last resort when every listed one fails.
    /// </summary>
    public static int[] Order(IReadOnlyList<string> pathways, IEnumerable<string?> priority)
    {
        var order = new List<int>(pathways.Count);
        foreach (var id in priority)
        {
            for (var i = 0; i < pathways.Count; i++)
            {
                if (pathways[i] == id && !order.Contains(i))
                {
                    order.Add(i);
                }
            }
        }

        for (var i = 0; i < pathways.Count; i++)
        {
            if (!order.Contains(i))
            {
                order.Add(i);
            }
        }

        return [.. order];
    }
}
