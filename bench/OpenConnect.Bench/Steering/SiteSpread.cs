using System.Globalization;
using OpenConnect.Contracts.Placement;
using OpenConnect.Steering;
using OpenConnect.Steering.ControlPlane;
using OpenConnect.Steering.Selection;

namespace OpenConnect.Bench.Steering;

/// <summary>
/// Part of <c>bench steering</c>: how one site's new sessions spread over its appliances when their
/// loads differ, with load-aware ranking (the default) and without it (plain rendezvous with the
/// cut-off only). A session goes to the first pathway of its decision.
/// </summary>
internal static class SiteSpread
{
    private const int Sessions = 20_000;

    /// <summary>The site's appliances are set to these loads (fraction of capacity), in order.</summary>
    private static readonly double[] Loads = [0.10, 0.20, 0.30, 0.40, 0.50, 0.60, 0.65, 0.70, 0.75, 0.80, 0.84, 0.90];

    public sealed record Row(string Id, double Load, double Share, double ShareWithoutShedding);

    public static IReadOnlyList<Row> Measure(ApplianceRegistry registry, SteeringOptions options, string[] titles, SteeringScenario.Zipf zipf, string site, DateTimeOffset now)
    {
        var appliances = registry.InSite(site).ToArray();
        for (var i = 0; i < appliances.Length; i++)
        {
            var appliance = appliances[i];
            var load = Loads[i % Loads.Length];
            appliance.Status = appliance.Status with { LastHeartbeat = now, BytesPerSecondOut = (long)(appliance.CapacityBytesPerSecond * load), Connections = 0 };
        }

        var shedding = new SelectionPolicy(options.HeartbeatExpiry, options.MaxLoadFraction, options.Pathways, options.LoadSheddingStart);
        var plain = shedding with { SheddingStart = 1.0 };
        var withShedding = Count(registry, titles, zipf, site, now, shedding);
        var without = Count(registry, titles, zipf, site, now, plain);
        return [.. appliances.Select(a => new Row(a.Id, SelectionPolicy.Load(a, a.Status), (double)withShedding.GetValueOrDefault(a.Id) / Sessions, (double)without.GetValueOrDefault(a.Id) / Sessions))];
    }

    public static Table Report(IReadOnlyList<Row> rows)
    {
        var table = new Table("site appliance", "load", "share of sessions", "share without shedding");
        foreach (var row in rows)
        {
            table.Add(row.Id, row.Load.ToString("F2", CultureInfo.InvariantCulture), row.Share, row.ShareWithoutShedding);
        }

        return table;
    }

    private static Dictionary<string, int> Count(ApplianceRegistry registry, string[] titles, SteeringScenario.Zipf zipf, string site, DateTimeOffset now, SelectionPolicy policy)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var chosen = new ApplianceView?[PathwaySelector.MaxPathways];
        for (var i = 0; i < Sessions; i++)
        {
            var title = titles[zipf.Next()];
            var holders = registry.Holders(title, out var titleId);
            if (PathwaySelector.Rank(title, Rendezvous.HashTitle(title), titleId, site, registry.Members(site), holders, now, policy, chosen) > 0)
            {
                var id = chosen[0]!.Id;
                counts[id] = counts.GetValueOrDefault(id) + 1;
            }
        }

        return counts;
    }
}
