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

    private static ApplianceView Parse(string spec) => Parse(spec, 1_000_000_000);

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
