using OpenConnect.FillController.Forecast;
using OpenConnect.FillController.History;

namespace OpenConnect.FillController.Tests;

public sealed class RenditionMixTests
{
    private static readonly DateOnly Day = new(2026, 3, 10);

    private static readonly string[] Ladder = ["1080p", "720p", "360p", "audio"];

    private static ForecastOptions Options(double ladderPrior = 0, double titlePrior = 0) => new()
    {
        RenditionMixPriorPlays = ladderPrior,
        TitleRenditionPriorPlays = titlePrior,
        RenditionShares = new(StringComparer.Ordinal) { ["1080p"] = 0.6, ["720p"] = 0.3, ["360p"] = 0.1 },
    };

    private static Dictionary<string, IReadOnlyCollection<string>> Ladders(params string[] titles) =>
        titles.ToDictionary(t => t, _ => (IReadOnlyCollection<string>)Ladder, StringComparer.Ordinal);

    private static double Share(IReadOnlyList<(string Rendition, double Share)> shares, string rendition) =>
        shares.Single(s => s.Rendition == rendition).Share;

    [Fact]
    public void WithoutCounts_TheConfiguredSharesApply()
    {
        var mix = RenditionMix.Learn("isp1", Day, [], [], Ladders("a"), Options(50, 10));
        var shares = mix.Shares("a", Ladder);
        Assert.Equal(0.6, Share(shares, "1080p"), 9);
        Assert.Equal(0.3, Share(shares, "720p"), 9);
        Assert.Equal(0.1, Share(shares, "360p"), 9);
        Assert.Equal(1.0, Share(shares, "audio"), 9);
    }

    [Fact]
    public void ASitesCounts_ReplaceTheConfiguredShares_ForEveryTitleWithTheSameLadder()
    {
        // The site's players watched title a mostly in 360p; title b, never counted, follows the site's mix.
        RenditionCount[] counts =
        [
            new("isp1", "a", "360p", Day.AddDays(-1), 80),
            new("isp1", "a", "720p", Day.AddDays(-1), 20),
            new("isp1", "a", "audio", Day.AddDays(-1), 100),
            new("isp2", "a", "1080p", Day.AddDays(-1), 1000),
        ];
        var mix = RenditionMix.Learn("isp1", Day, counts, [], Ladders("a", "b"), Options());
        var shares = mix.Shares("b", Ladder);
        Assert.Equal(0.8, Share(shares, "360p"), 9);
        Assert.Equal(0.2, Share(shares, "720p"), 9);
        Assert.Equal(0.0, Share(shares, "1080p"), 9);
        Assert.Equal(1.0, Share(shares, "audio"), 9);
    }

    [Theory]
    // Priors in plays, turned into requests by the site's requests per play (here 100 requests / 10 plays = 10).
    // Title b (never counted) takes the site mix: ladder prior 10 plays = 100 requests, (80 + 100·0.1) / (100 + 100) = 0.45 for 360p.
    [InlineData(10, 0, "b", "360p", 0.45)]
    [InlineData(10, 0, "b", "1080p", 0.30)]
    // Title a blends its own 80/100 with that site mix, title prior 10 plays = 100 requests: (80 + 100·0.45) / 200.
    [InlineData(10, 10, "a", "360p", 0.625)]
    [InlineData(10, 0, "a", "360p", 0.8)]
    public void Priors_AreInPlays_ScaledByTheSitesRequestsPerPlay(double ladderPrior, double titlePrior, string title, string rendition, double expected)
    {
        RenditionCount[] counts = [new("isp1", "a", "360p", Day.AddDays(-1), 80), new("isp1", "a", "720p", Day.AddDays(-1), 20)];
        PlayCount[] plays = [new("isp1", "a", Day.AddDays(-1), 10)];
        var mix = RenditionMix.Learn("isp1", Day, counts, plays, Ladders("a", "b"), Options(ladderPrior, titlePrior));
        Assert.Equal(10, mix.RequestsPerPlay, 9);
        Assert.Equal(expected, Share(mix.Shares(title, Ladder), rendition), 9);
    }

    [Fact]
    public void ATitlesOwnRequests_MoveItsShares_AwayFromTheSiteMix()
    {
        // Title a is watched in 1080p, title b in 360p; with a small title prior each keeps its own mix.
        RenditionCount[] counts =
        [
            new("isp1", "a", "1080p", Day.AddDays(-1), 100),
            new("isp1", "b", "360p", Day.AddDays(-1), 100),
        ];
        PlayCount[] plays = [new("isp1", "a", Day.AddDays(-1), 100), new("isp1", "b", Day.AddDays(-1), 100)];
        var mix = RenditionMix.Learn("isp1", Day, counts, plays, Ladders("a", "b"), Options(0, 1));
        // Site mix: 1080p 0.5, 360p 0.5. Title a: (100 + 1·0.5) / (100 + 1).
        Assert.Equal(100.5 / 101, Share(mix.Shares("a", Ladder), "1080p"), 9);
        Assert.Equal(100.5 / 101, Share(mix.Shares("b", Ladder), "360p"), 9);
    }

    [Fact]
    public void CountsAreLearnedPerLadder_SoHighRungsAreNotDilutedByTitlesWithoutThem()
    {
        string[] small = ["720p", "360p", "audio"];
        var ladders = new Dictionary<string, IReadOnlyCollection<string>>(StringComparer.Ordinal) { ["a"] = Ladder, ["s"] = small };
        RenditionCount[] counts =
        [
            new("isp1", "a", "1080p", Day.AddDays(-1), 50),
            new("isp1", "a", "720p", Day.AddDays(-1), 50),
            new("isp1", "s", "360p", Day.AddDays(-1), 100),
        ];
        var mix = RenditionMix.Learn("isp1", Day, counts, [], ladders, Options());
        Assert.Equal(0.5, Share(mix.Shares("a", Ladder), "1080p"), 9);
        Assert.Equal(0.0, Share(mix.Shares("a", Ladder), "360p"), 9);
        Assert.Equal(1.0, Share(mix.Shares("s", small), "360p"), 9);
    }

    [Fact]
    public void OlderDays_WeighLess_AndTheForecastDayAndLaterAreIgnored()
    {
        // Half-life 2 days: a count 3 days before the forecast day weighs 0.5 of one the day before.
        RenditionCount[] counts =
        [
            new("isp1", "a", "360p", Day.AddDays(-3), 100),
            new("isp1", "a", "1080p", Day.AddDays(-1), 50),
            new("isp1", "a", "720p", Day, 1000),
        ];
        var mix = RenditionMix.Learn("isp1", Day, counts, [], Ladders("a"), Options());
        Assert.Equal(0.5, Share(mix.Shares("a", Ladder), "360p"), 9);
        Assert.Equal(0.5, Share(mix.Shares("a", Ladder), "1080p"), 9);
        Assert.Equal(0.0, Share(mix.Shares("a", Ladder), "720p"), 9);
    }

    [Theory]
    [InlineData(5, 10, 0.5, 0, 0.5)]
    [InlineData(5, 10, 0.5, 10, 0.5)]
    [InlineData(10, 10, 0.2, 10, 0.6)]
    [InlineData(0, 0, 0.3, 0, 0.3)]
    public void Blend_IsCountsPlusKPriors_OverTotalPlusK(double count, double total, double prior, double k, double expected) =>
        Assert.Equal(expected, RenditionMix.Blend(count, total, prior, k), 9);
}
