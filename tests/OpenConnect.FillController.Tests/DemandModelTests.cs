using OpenConnect.FillController.Forecast;
using OpenConnect.FillController.History;

namespace OpenConnect.FillController.Tests;

public class DemandModelTests
{
    private static readonly DateOnly Day = new(2026, 11, 24);

    private static ForecastOptions Options(double halfLife = 2, int historyDays = 14, double regionPrior = 0, int priorRank = 2, double priorDays = 1) => new()
    {
        HalfLifeDays = halfLife,
        HistoryDays = historyDays,
        RegionPriorPlays = regionPrior,
        NewTitlePriorRank = priorRank,
        NewTitlePriorDays = priorDays,
    };

    /// <summary>Daily counts given newest first: <c>counts[0]</c> is the day before <see cref="Day"/>.</summary>
    private static Dictionary<DateOnly, double> Daily(params double[] counts) =>
        counts.Select((c, i) => (Day.AddDays(-1 - i), c)).ToDictionary(p => p.Item1, p => p.c);

    [Theory]
    // Flat history: the mean is the level, whatever the half-life.
    [InlineData(new double[] { 10, 10, 10, 10 }, 2.0, 4, 10.0)]
    [InlineData(new double[] { 10, 10, 10, 10 }, 0.5, 4, 10.0)]
    // One day back weighs 1, two days 0.5 (half-life 1): (1*20 + 0.5*10) / 1.5.
    [InlineData(new double[] { 20, 10 }, 1.0, 2, 16.666666666666668)]
    // Missing days count as zero plays: (1*0 + 0.5*12) / 1.5.
    [InlineData(new double[] { 0, 12 }, 1.0, 2, 4.0)]
    // Only the last HistoryDays are read: the 1000 three days back is outside a 2-day window.
    [InlineData(new double[] { 6, 6, 1000 }, 1.0, 2, 6.0)]
    // A long half-life approaches the plain mean: (30 + 0) / 2 = 15.
    [InlineData(new double[] { 30, 0 }, 1e9, 2, 15.0)]
    public void Smooth_IsAnExponentiallyWeightedDailyMean(double[] newestFirst, double halfLife, int historyDays, double expected)
    {
        var (mean, _) = DemandModel.Smooth(Daily(newestFirst), Day.AddDays(-30), Day, Options(halfLife, historyDays));
        Assert.Equal(expected, mean, 6);
    }

    [Fact]
    public void Smooth_CountsOnlyDaysSinceTheTitleExisted()
    {
        // Published two days before: 8 and 4 over two days, not diluted by the 12 empty days before.
        var (mean, weight) = DemandModel.Smooth(Daily(8, 4), Day.AddDays(-2), Day, Options(halfLife: 1));
        Assert.Equal(((1 * 8) + (0.5 * 4)) / 1.5, mean, 9);
        Assert.Equal(1.5, weight, 9);
        Assert.Equal((0, 0), DemandModel.Smooth(Daily(), Day, Day, Options()));
    }

    [Fact]
    public void Smooth_FollowsARisingTitleFasterWithAShorterHalfLife()
    {
        var rising = Daily(100, 50, 25, 12, 6, 3);
        var fast = DemandModel.Smooth(rising, Day.AddDays(-30), Day, Options(halfLife: 1)).Mean;
        var slow = DemandModel.Smooth(rising, Day.AddDays(-30), Day, Options(halfLife: 7)).Mean;
        Assert.True(fast > slow, $"{fast} vs {slow}");
        Assert.InRange(fast, 60, 100);
    }

    private static IEnumerable<PlayCount> Plays(string site, string title, params double[] newestFirst) =>
        newestFirst.Select((c, i) => new PlayCount(site, title, Day.AddDays(-1 - i), (long)c));

    [Fact]
    public void TitleDemand_ABusySiteFollowsItsOwnPlays_ASparseSiteFollowsTheRegion()
    {
        // Region: "a" is the hit everywhere except in "busy", which watches "b".
        var plays = new List<PlayCount>();
        static double[] Days(double count) => Enumerable.Repeat(count, 14).ToArray();
        plays.AddRange(Plays("busy", "b", Days(9000)));
        plays.AddRange(Plays("busy", "a", Days(1000)));
        plays.AddRange(Plays("big-region", "a", Days(90000)));
        plays.AddRange(Plays("big-region", "b", Days(10000)));
        plays.AddRange(Plays("sparse", "b", Days(2)));
        var none = new Dictionary<string, DateTimeOffset?>();
        var options = Options(regionPrior: 2000);

        var busy = DemandModel.TitleDemand("busy", Day, plays, [], none, options);
        Assert.True(busy["b"] > busy["a"] * 3, $"busy: b {busy["b"]}, a {busy["a"]}");
        Assert.Equal(10000, busy.Values.Sum(), 6);

        // 2 plays a day: nearly all of the forecast comes from the region's shares, scaled to the site's 2 plays.
        var sparse = DemandModel.TitleDemand("sparse", Day, plays, [], none, options);
        Assert.True(sparse["a"] > sparse["b"], $"sparse: a {sparse["a"]}, b {sparse["b"]}");
        Assert.Equal(2, sparse.Values.Sum(), 6);

        // A site with no plays at all gets the region's volume split over the sites seen.
        var unknown = DemandModel.TitleDemand("new-site", Day, plays, [], none, options);
        Assert.Equal(110002.0 / 3, unknown.Values.Sum(), 3);
    }

    [Fact]
    public void TitleDemand_OriginViewsCountForTitlesSteeringDidNotSee()
    {
        var plays = Plays("s1", "a", 100, 100).ToList();
        var views = new List<(string, DateOnly, long)> { ("c", Day.AddDays(-1), 300), ("c", Day.AddDays(-2), 300) };
        var demand = DemandModel.TitleDemand("s1", Day, plays, views, new Dictionary<string, DateTimeOffset?>(), Options(regionPrior: 1_000_000));
        Assert.True(demand["c"] > demand["a"], $"c {demand["c"]} a {demand["a"]}");
    }

    [Theory]
    // Published on the forecast day: no history, the prior alone (rank 2 of a, b, c = 50).
    [InlineData(0, 0.0, 50.0)]
    // Published one day before with 10 plays: (1*10 + 1*50) / 2 with a 1-day prior.
    [InlineData(1, 10.0, 30.0)]
    // Same, prior worth 3 days: (10 + 3*50) / 4.
    [InlineData(1, 10.0, 40.0, 3.0)]
    // Older than NewTitleDays (7): no prior, just its history.
    [InlineData(9, 10.0, 10.0)]
    public void TitleDemand_NewTitlesGetThePrior(int ageDays, double playsPerDay, double expected, double priorDays = 1)
    {
        var plays = new List<PlayCount>();
        plays.AddRange(Plays("s1", "a", Enumerable.Repeat(100.0, 14).ToArray()));
        plays.AddRange(Plays("s1", "b", Enumerable.Repeat(50.0, 14).ToArray()));
        plays.AddRange(Plays("s1", "c", Enumerable.Repeat(5.0, 14).ToArray()));
        plays.AddRange(Plays("s1", "new", Enumerable.Repeat(playsPerDay, ageDays).ToArray()));
        var published = new Dictionary<string, DateTimeOffset?>
        {
            ["new"] = new DateTimeOffset(Day.AddDays(-ageDays), new TimeOnly(0, 0), TimeSpan.Zero),
            ["a"] = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero),
        };

        var demand = DemandModel.TitleDemand("s1", Day, plays, [], published, Options(halfLife: 1e9, priorRank: 2, priorDays: priorDays));
        Assert.Equal(expected, demand["new"], 6);
        Assert.Equal(100, demand["a"], 6);
    }

    [Theory]
    // No history at all (a new deployment): the new title gets the floor, an old title nothing.
    [InlineData(2.0, 2.0)]
    [InlineData(0.0, 0.0)]
    public void TitleDemand_WithoutHistory_ANewTitleGetsTheMinimumPrior(double minPlays, double expected)
    {
        var published = new Dictionary<string, DateTimeOffset?>
        {
            ["new"] = new DateTimeOffset(Day, new TimeOnly(0, 0), TimeSpan.Zero),
            ["old"] = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero),
        };
        var options = Options();
        options.NewTitlePriorMinPlays = minPlays;

        var demand = DemandModel.TitleDemand("s1", Day, [], [], published, options);
        Assert.Equal(expected, demand.GetValueOrDefault("new"), 6);
        Assert.Equal(0, demand.GetValueOrDefault("old"), 6);
    }

    [Fact]
    public void RenditionShares_FollowTheConfiguredMix_AudioIsReadByEveryPlay()
    {
        var shares = new ForecastOptions().RenditionShares;
        var split = DemandModel.RenditionShares(["1080p", "720p", "360p", "audio"], shares).ToDictionary(p => p.Rendition, p => p.Share);
        Assert.Equal(1.0, split["audio"]);
        Assert.Equal(1.0, split["1080p"] + split["720p"] + split["360p"], 9);
        Assert.Equal(0.36 / 0.74, split["1080p"], 9);

        // A codec variant splits its height's share with the H.264 rendition.
        var codecs = DemandModel.RenditionShares(["720p", "720p-hevc"], shares).ToDictionary(p => p.Rendition, p => p.Share);
        Assert.Equal(0.5, codecs["720p"], 9);
        Assert.Equal(0.5, codecs["720p-hevc"], 9);

        // Names the mix does not know (the test package's r0, r1) split evenly.
        var unknown = DemandModel.RenditionShares(["r0", "r1", "audio"], shares).ToDictionary(p => p.Rendition, p => p.Share);
        Assert.Equal(0.5, unknown["r0"], 9);
        Assert.Equal(1.0, unknown["audio"]);
    }
}
