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
/// The fixed chaos schedule of a run (the same seed, length and sites give the same schedule,
/// printed before the run): in each site the appliance serving the title (the first of the site's
/// list: steering sends a title's sessions to one appliance per site) killed and restarted; then
/// the serving appliance of a site the seed chooses partitioned from steering; then a whole site,
/// chosen by the seed, stopped and started. Incidents take turns (one at a time, with a gap for the
/// restarted appliance to come back and heartbeat) and all end by 85 % of the run, so the players'
/// recovery is part of the measurement.
/// </summary>
public static class ChaosSchedule
{
    /// <summary>Shortest run with chaos: every incident needs a few seconds, plus the gaps.</summary>
    public const int MinimumSeconds = 30;

    /// <param name="seconds">Length of the run.</param>
    /// <param name="seed">Chooses the sites of the partition and of the stop.</param>
    /// <param name="sites">Each site's appliances, the one serving the title first.</param>
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
            incidents.Add(new ChaosIncident(at, at + length, ChaosKind.Kill, site, [sites[site][0]]));
            at += slot;
        }

        var partitioned = names[random.Next(names.Count)];
        incidents.Add(new ChaosIncident(at, at + length, ChaosKind.Partition, partitioned, [sites[partitioned][0]]));
        at += slot;
        var stopped = names[random.Next(names.Count)];
        incidents.Add(new ChaosIncident(at, at + length, ChaosKind.SiteStop, stopped, [.. sites[stopped].Order(StringComparer.Ordinal)]));
        return incidents;
    }
}
