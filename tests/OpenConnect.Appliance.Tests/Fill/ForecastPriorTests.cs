using OpenConnect.Appliance.Caching.Policy;
using OpenConnect.Appliance.Fill;
using OpenConnect.Contracts.Fill.V1;

namespace OpenConnect.Appliance.Tests.Fill;

public sealed class ForecastPriorTests
{
    [Fact]
    public void A_title_s_plays_go_to_its_first_segments()
    {
        var prior = ForecastPrior.From([new TitleForecast { Title = "t1", Plays = 30 }, new TitleForecast { Title = "t2", Plays = 10 }])!;
        Assert.Equal(2, prior.TitleCount);
        Assert.Equal(30, prior.Requests(ContentHint.TitleHash("t1"), 0), 9);
        Assert.Equal(10, prior.Requests(ContentHint.TitleHash("t2"), 0), 9);
        Assert.Equal(0, prior.Requests(ContentHint.TitleHash("t1"), 3));
        // A title the forecast does not name gets nothing.
        Assert.Equal(0, prior.Requests(ContentHint.TitleHash("t3"), 0));
        // The policy reads titles from paths: the same hash.
        Assert.Equal(ContentHint.FromPath("/v/t1/r0/seg-00001.m4s").Title, ContentHint.TitleHash("t1"));
    }

    [Theory]
    [InlineData("", 5)]
    [InlineData("t1", 0)]
    [InlineData("t1", -2)]
    [InlineData("t1", double.NaN)]
    [InlineData("t1", double.PositiveInfinity)]
    public void Entries_the_prior_cannot_carry_are_skipped(string title, double plays)
    {
        Assert.Null(ForecastPrior.From([new TitleForecast { Title = title, Plays = plays }]));
        var prior = ForecastPrior.From([new TitleForecast { Title = title, Plays = plays }, new TitleForecast { Title = "ok", Plays = 2 }])!;
        Assert.Equal(1, prior.TitleCount);
    }

    [Fact]
    public void A_title_named_twice_adds_up_and_no_forecast_gives_no_prior()
    {
        var prior = ForecastPrior.From([new TitleForecast { Title = "t1", Plays = 1.5 }, new TitleForecast { Title = "t1", Plays = 2.5 }])!;
        Assert.Equal(4, prior.Requests(ContentHint.TitleHash("t1"), 0), 9);
        Assert.Null(ForecastPrior.From([]));
    }
}
