using System.Globalization;

namespace OpenConnect.Bench.Fleet;

/// <summary>What a chaos incident does to its appliances, and how it is undone.</summary>
public enum ChaosKind
{
    /// <summary><c>kill -9</c>, restarted (same cache and certificate) when the incident ends.</summary>
    Kill,

    /// <summary>Cut off from steering (blackhole routes to steering's addresses), healed when it ends.</summary>
    Partition,

    /// <summary>Every appliance of a site stopped (SIGTERM), started again when it ends.</summary>
    SiteStop,
}

/// <summary>One incident: from <see cref="Start"/> to <see cref="End"/> (seconds into the run) on <see cref="Appliances"/>.</summary>
public sealed record ChaosIncident(double Start, double End, ChaosKind Kind, string Site, IReadOnlyList<string> Appliances)
{
    public string Describe() => Kind switch
    {
        ChaosKind.Kill => string.Create(CultureInfo.InvariantCulture, $"kill -9 {string.Join(',', Appliances)} ({Site}) at {Start:F0} s, restart at {End:F0} s"),
        ChaosKind.Partition => string.Create(CultureInfo.InvariantCulture, $"partition {string.Join(',', Appliances)} ({Site}) from steering at {Start:F0} s, heal at {End:F0} s"),
        _ => string.Create(CultureInfo.InvariantCulture, $"stop {Site} ({string.Join(',', Appliances)}) at {Start:F0} s, start at {End:F0} s"),
    };
}

/// <summary>
/// The fixed chaos schedule of a run, chosen by the seed (the same seed, length and sites give the
/// same schedule, printed before the run): one appliance per site killed and restarted, one
/// appliance partitioned from steering, then a whole site stopped and started. Incidents take turns
/// (one at a time, with a gap for the restarted appliance to come back and heartbeat) and all end
/// by 85 % of the run, so the players' recovery is part of the measurement.
/// </summary>
public static class ChaosSchedule
{
    /// <summary>Shortest run with chaos: every incident needs a few seconds, plus the gaps.</summary>
    public const int MinimumSeconds = 30;

    public static IReadOnlyList<ChaosIncident> Create(int seconds, int seed, IReadOnlyDictionary<string, string[]> sites)
    {
        if (seconds < MinimumSeconds)
        {
            throw new ArgumentOutOfRangeException(nameof(seconds), seconds, $"a chaos run needs at least {MinimumSeconds} s");
        }

        if (sites.Count == 0 || sites.Values.Any(a => a.Length == 0))
        {
            throw new ArgumentException("every site needs at least one appliance", nameof(sites));
        }

        var random = new Random(seed);
        var names = sites.Keys.Order(StringComparer.Ordinal).ToList();
        // Incidents: a kill per site, one partition, one site stop; each gets an equal slot of the
        // first 85 % of the run (after a 10 % warm-up) and lasts 60 % of its slot.
        var slots = names.Count + 2;
        var from = 0.10 * seconds;
        var slot = ((0.85 * seconds) - from) / slots;
        var length = 0.6 * slot;
        var incidents = new List<ChaosIncident>(slots);
        var at = from;
        foreach (var site in names)
        {
            incidents.Add(new ChaosIncident(at, at + length, ChaosKind.Kill, site, [Pick(random, sites[site])]));
            at += slot;
        }

        var partitioned = names[random.Next(names.Count)];
        incidents.Add(new ChaosIncident(at, at + length, ChaosKind.Partition, partitioned, [Pick(random, sites[partitioned])]));
        at += slot;
        var stopped = names[random.Next(names.Count)];
        incidents.Add(new ChaosIncident(at, at + length, ChaosKind.SiteStop, stopped, [.. sites[stopped].Order(StringComparer.Ordinal)]));
        return incidents;
    }

    private static string Pick(Random random, string[] appliances)
    {
        var ordered = appliances.Order(StringComparer.Ordinal).ToArray();
        return ordered[random.Next(ordered.Length)];
    }
}
