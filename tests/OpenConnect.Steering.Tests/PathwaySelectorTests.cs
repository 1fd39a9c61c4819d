using OpenConnect.Contracts.Placement;
using OpenConnect.Steering.Selection;

namespace OpenConnect.Steering.Tests;

public sealed class PathwaySelectorTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly SelectionPolicy Policy = new(TimeSpan.FromSeconds(3), 0.85, 3);

    /// <summary>
    /// Appliances as <c>id:site:flags</c>, flags being letters: <c>h</c> holds the title, <c>d</c>
    /// draining, <c>u</c> cache unhealthy, <c>x</c> heartbeat expired, <c>l</c> loaded to 90 % of
    /// capacity, <c>c</c> at its connection limit. The expected ranking is compared as a set per tier
    /// where rendezvous decides the order inside the tier.
    /// </summary>
    [Theory]
    // Site preference: the client's site first, other sites only when they hold the title.
    [InlineData("A", "a1:A:|b1:B:h", "a1|b1")]
    [InlineData("A", "a1:A:|b1:B:", "a1")]
    // Inventory preference inside the site.
    [InlineData("A", "a1:A:|a2:A:h", "a2|a1")]
    [InlineData("A", "a1:A:h|a2:A:|b1:B:h", "a1|a2|b1")]
    // Headroom and health: each of these is skipped.
    [InlineData("A", "a1:A:hl|a2:A:", "a2")]
    [InlineData("A", "a1:A:hc|a2:A:", "a2")]
    [InlineData("A", "a1:A:hd|a2:A:", "a2")]
    [InlineData("A", "a1:A:hu|a2:A:", "a2")]
    [InlineData("A", "a1:A:hx|a2:A:", "a2")]
    [InlineData("A", "a1:A:hx|b1:B:hd|b2:B:h", "b2")]
    // A client whose site has no appliance: holders elsewhere, else nothing (the origin follows).
    [InlineData("C", "a1:A:h|b1:B:", "a1")]
    [InlineData("C", "a1:A:|b1:B:", "")]
    // At most Pathways (3) appliances.
    [InlineData("A", "a1:A:h|a2:A:h|a3:A:h|a4:A:h", "a1,a2,a3,a4*3")]
    public void Rank_FollowsSiteThenInventoryThenRendezvous(string clientSite, string appliances, string expected)
    {
        var views = appliances.Split('|').Select(s => Parse(s)).ToList();
        var ranked = PathwaySelector.Rank("t1", clientSite, views, Now, Policy).Select(a => a.Id).ToArray();

        if (expected.Contains('*'))
        {
            var parts = expected.Split('*');
            Assert.Equal(int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), ranked.Length);
            Assert.Subset(parts[0].Split(',').ToHashSet(), ranked.ToHashSet());
            return;
        }

        var tiers = expected.Length == 0 ? [] : expected.Split('|');
        Assert.Equal(tiers.Length, ranked.Length);
        Assert.Equal(tiers, ranked);
    }

    [Fact]
    public void Rank_IsDeterministic_AndOrdersATierByRendezvous()
    {
        var views = Enumerable.Range(0, 8).Select(i => Parse($"a{i}:A:h")).ToList();
        var first = PathwaySelector.Rank("title-42", "A", views, Now, Policy).Select(a => a.Id).ToArray();
        var reversed = PathwaySelector.Rank("title-42", "A", Enumerable.Reverse(views), Now, Policy).Select(a => a.Id).ToArray();
        Assert.Equal(first, reversed);

        var byScore = views.OrderByDescending(v => Rendezvous.Score(Rendezvous.HashTitle("title-42"), v.IdHash, v.CapacityBytesPerSecond)).Take(3).Select(v => v.Id);
        Assert.Equal(byScore, first);
    }

    [Fact]
    public void RemovingAnAppliance_MovesOnlyTheTitlesItRankedFirst()
    {
        var views = Enumerable.Range(0, 10).Select(i => Parse($"a{i}:A:")).ToList();
        var titles = Enumerable.Range(0, 2000).Select(i => $"title-{i}").ToArray();
        var before = titles.ToDictionary(t => t, t => PathwaySelector.Rank(t, "A", views, Now, Policy)[0].Id);

        var removed = views[3];
        var after = titles.ToDictionary(t => t, t => PathwaySelector.Rank(t, "A", views.Where(v => v != removed), Now, Policy)[0].Id);

        var moved = titles.Where(t => before[t] != after[t]).ToHashSet();
        var owned = titles.Where(t => before[t] == removed.Id).ToHashSet();
        Assert.NotEmpty(owned);
        Assert.Equal(owned, moved);
    }

    [Fact]
    public void Titles_SpreadEvenly_OverEqualAppliances_AndByCapacityOverUnequalOnes()
    {
        var views = Enumerable.Range(0, 10).Select(i => Parse($"a{i}:A:")).ToList();
        var counts = Enumerable.Range(0, 20_000).Select(i => PathwaySelector.Rank($"title-{i}", "A", views, Now, Policy)[0].Id)
            .GroupBy(id => id).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(10, counts.Count);
        Assert.All(counts.Values, c => Assert.InRange(c, 2000 * 0.85, 2000 * 1.15));

        // One appliance with 3x the capacity takes about 3/12 of the titles.
        var weighted = views.Take(9).Append(Parse("big:A:", capacity: 3_000_000_000)).ToList();
        var big = Enumerable.Range(0, 20_000).Count(i => PathwaySelector.Rank($"title-{i}", "A", weighted, Now, Policy)[0].Id == "big");
        Assert.InRange(big, 20_000 * 3 / 12 * 0.85, 20_000 * 3 / 12 * 1.15);
    }

    private static readonly SelectionPolicy Shedding = new(TimeSpan.FromSeconds(3), 0.85, 3, SheddingStart: 0.6);

    /// <summary>The weight factor: 1 up to the shedding start, then linear down to a twentieth at the cut-off.</summary>
    [Theory]
    [InlineData(0.0, 1.0)]
    [InlineData(0.6, 1.0)]
    [InlineData(0.725, 0.525)]
    [InlineData(0.8, 0.24)]
    [InlineData(0.85, 0.05)]
    [InlineData(0.95, 0.05)]
    public void LoadWeight_FallsLinearlyFromTheSheddingStartToTheCutOff(double load, double weight)
    {
        Assert.Equal(weight, Shedding.LoadWeight(load), 6);
        Assert.Equal(1.0, Policy.LoadWeight(load), 6);
    }

    /// <summary>
    /// Two site peers of the same tier, one at <paramref name="bytesLoad"/> of its output capacity and
    /// <paramref name="connections"/> of 100 connections, the other idle: the loaded one's share of
    /// new sessions (first pathway over many titles) is w/(w+1) for its load weight w, so it sheds to
    /// its peer before the cut-off; without shedding it keeps half until the cut-off.
    /// </summary>
    [Theory]
    [InlineData(0.10, 0, "h", 0.50)]
    [InlineData(0.60, 0, "h", 0.50)]
    [InlineData(0.725, 0, "h", 0.344)]
    [InlineData(0.80, 0, "h", 0.194)]
    [InlineData(0.84, 0, "h", 0.081)]
    // Connections count as load too: 80 of 100 is as hot as 80 % of the output.
    [InlineData(0.10, 80, "h", 0.194)]
    // The same between two appliances that do not hold the title.
    [InlineData(0.80, 0, "", 0.194)]
    public void AHotAppliance_ShedsNewSessionsToASitePeer_BeforeItsCutOff(double bytesLoad, int connections, string holds, double share)
    {
        const int Titles = 20_000;
        var titles = Enumerable.Range(0, Titles).Select(i => $"title-{i}").ToArray();
        IReadOnlySet<string> held = holds.Length > 0 ? titles.ToHashSet(StringComparer.Ordinal) : ApplianceStatus.NoTitles;
        var hot = View("hot", "A", held, (long)(1_000_000_000 * bytesLoad), connections);
        var cold = View("cold", "A", held, 0, 0);

        var first = titles.Count(t => PathwaySelector.Rank(t, "A", [hot, cold], Now, Shedding)[0].Id == "hot");
        Assert.InRange((double)first / Titles, share - 0.03, share + 0.03);
        var unshed = titles.Count(t => PathwaySelector.Rank(t, "A", [hot, cold], Now, Policy)[0].Id == "hot");
        Assert.InRange((double)unshed / Titles, 0.47, 0.53);
    }

    /// <summary>Load never crosses tiers: a hot local holder still ranks before an idle local non-holder and a remote holder.</summary>
    [Fact]
    public void Load_ReordersWithinATier_NotAcrossTiers()
    {
        var t1 = new HashSet<string>(["t1"]);
        var views = new[] { View("hot", "A", t1, 840_000_000, 0), View("idle", "A", ApplianceStatus.NoTitles, 0, 0), View("remote", "B", t1, 0, 0) };
        Assert.Equal(["hot", "idle", "remote"], PathwaySelector.Rank("t1", "A", views, Now, Shedding).Select(a => a.Id));
    }

    private static ApplianceView Parse(string spec) => Parse(spec, 1_000_000_000);

    private static ApplianceView View(string id, string site, IReadOnlySet<string> titles, long bytesOut, int connections) =>
        new(id, site, $"http://{id}.example:8400", 1_000_000_000, 100, new ApplianceStatus(Now - TimeSpan.FromSeconds(1), bytesOut, connections, true, false, titles));

    private static ApplianceView Parse(string spec, long capacity)
    {
        var parts = spec.Split(':');
        var flags = parts[2];
        var status = new ApplianceStatus(
            flags.Contains('x') ? Now - TimeSpan.FromSeconds(4) : Now - TimeSpan.FromSeconds(1),
            flags.Contains('l') ? capacity * 9 / 10 : capacity / 10,
            flags.Contains('c') ? 100 : 5,
            CacheHealthy: !flags.Contains('u'),
            Draining: flags.Contains('d'),
            flags.Contains('h') ? new HashSet<string>(["t1"]) : ApplianceStatus.NoTitles);
        return new ApplianceView(parts[0], parts[1], $"http://{parts[0]}.example:8400", capacity, 100, status);
    }
}
