using System.Globalization;
using OpenConnect.Appliance.Caching.Policy;

namespace OpenConnect.Appliance.Tests.Policy;

/// <summary>
/// The forecast prior of the video policy (<see cref="TitlePrior"/>). Three objects of 300 bytes, segment 0
/// of titles 5, 6 and 7, fill main (three fit); before they arrive titles 5, 6 and 7 are seen by 2, 4 and 6
/// sessions. A fourth object then needs room: the victim is the object whose title's counts plus forecast
/// pseudo-counts are lowest.
/// </summary>
public sealed class VideoPolicyPriorTests
{
    private const long Size = 300;

    [Theory]
    // No forecast: the least watched title goes.
    [InlineData("", "", 0.5, false, 5UL)]
    // A forecast that title 5 will be watched lifts it above 6 (its pseudo-counts: 0.5 x all requests so far).
    [InlineData("5", "", 0.5, false, 6UL)]
    [InlineData("5", "", 0.5, true, 6UL)]
    // Two forecast titles share the pseudo-counts; at weight 2 both pass title 7.
    [InlineData("5,6", "", 0.5, false, 5UL)]
    [InlineData("5,6", "", 2, false, 7UL)]
    // Weight 0 ignores the forecast.
    [InlineData("5", "", 0, false, 5UL)]
    // Titles the forecast does not name get its unknown-title profile; title 7 is named with almost nothing.
    [InlineData("7:1", "unknown", 0.5, false, 7UL)]
    // A forecast for a later position does not lift segment 0.
    [InlineData("5@4", "", 0.5, false, 5UL)]
    public void The_forecast_adds_to_what_the_policy_counted(string forecastTitles, string unknown, double weight, bool deliveredFirst, ulong expectedVictimTitle)
    {
        var prior = Forecast(forecastTitles, unknown == "unknown");
        var policy = new VideoAwarePolicy(1000, new VideoPolicyOptions
        {
            SmallFraction = 0.01,
            SampleSize = 64,
            AdmitQuantile = 0,
            AdmitRatio = 0,
            UnprovenAdmitRatio = 0,
            SessionDiscount = 0,
            PriorWeight = weight,
        });
        if (deliveredFirst)
        {
            policy.SetPrior(prior);
        }

        foreach (var (title, sessions) in new[] { (5UL, 2), (6UL, 4), (7UL, 6) })
        {
            for (var s = 0; s < sessions; s++)
            {
                policy.Observe(new ContentHint(title, 1, 0));
            }
        }

        var evicted = new List<ulong>();
        foreach (var title in new[] { 5UL, 6UL, 7UL })
        {
            Assert.True(policy.Admit(title, Size, new ContentHint(title, 1, 0), evicted));
            Assert.True(policy.IsInMain(title));
        }

        if (!deliveredFirst)
        {
            policy.SetPrior(prior);
        }

        Assert.True(policy.Admit(99, Size, new ContentHint(9, 1, 0), evicted));
        Assert.Equal([expectedVictimTitle], evicted);
    }

    [Fact]
    public void Removing_the_forecast_restores_the_counted_values()
    {
        var policy = new VideoAwarePolicy(1000, new VideoPolicyOptions { SmallFraction = 0.01, SessionDiscount = 0, PriorWeight = 1 });
        var evicted = new List<ulong>();
        policy.Observe(new ContentHint(5, 1, 0));
        Assert.True(policy.Admit(1, Size, new ContentHint(5, 1, 0), evicted));
        var counted = policy.ValueOf(1);

        policy.SetPrior(Forecast("5", unknown: false));
        Assert.True(policy.ValueOf(1) > counted * 1.5, $"{policy.ValueOf(1)} vs {counted}");
        Assert.NotNull(policy.Prior);

        policy.SetPrior(null);
        Assert.Equal(counted, policy.ValueOf(1), 9);
        Assert.Null(policy.Prior);
    }

    [Fact]
    public void A_forecast_of_nothing_is_no_forecast()
    {
        var policy = new VideoAwarePolicy(1000);
        policy.SetPrior(new TitlePrior(new Dictionary<ulong, double[]>()));
        Assert.Null(policy.Prior);
    }

    [Theory]
    [InlineData(3UL, 0, 10.0)]
    [InlineData(3UL, 2, 4.0)]
    [InlineData(4UL, 0, 1.0)]
    [InlineData(77UL, 0, 0.5)]
    [InlineData(77UL, 1, 0.0)]
    public void A_prior_answers_per_title_and_octave_with_the_unknown_profile_for_the_rest(ulong title, int octave, double expected)
    {
        var prior = new TitlePrior(
            new Dictionary<ulong, double[]> { [3] = Row((0, 10), (2, 4)), [4] = Row((0, 1)) },
            Row((0, 0.5)));

        Assert.Equal(expected, prior.Requests(title, octave), 9);
        Assert.Equal(15.5, prior.TotalRequests, 9);
        Assert.Equal(2, prior.TitleCount);
    }

    [Theory]
    [InlineData("short row")]
    [InlineData("negative")]
    [InlineData("nan")]
    [InlineData("title 0")]
    public void Bad_forecasts_are_refused_with_the_reason(string problem)
    {
        var row = problem switch
        {
            "short row" => new double[3],
            "negative" => Row((1, -1)),
            "nan" => Row((1, double.NaN)),
            _ => Row((0, 1)),
        };
        var title = problem == "title 0" ? 0UL : 1UL;

        var ex = Assert.Throws<ArgumentException>(() => new TitlePrior(new Dictionary<ulong, double[]> { [title] = row }));
        Assert.Contains(problem switch { "short row" => "16 octaves, not 3", "title 0" => "no title", _ => "finite and not negative" }, ex.Message);
    }

    /// <summary>"5,6" forecasts 100 requests at octave 0 for titles 5 and 6; "7:1" one request; "5@4" 100 at octave 4.</summary>
    private static TitlePrior Forecast(string titles, bool unknown)
    {
        var rows = new Dictionary<ulong, double[]>();
        foreach (var part in titles.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var octave = part.Contains('@') ? int.Parse(part[(part.IndexOf('@') + 1)..], CultureInfo.InvariantCulture) : 0;
            var requests = part.Contains(':') ? double.Parse(part[(part.IndexOf(':') + 1)..], CultureInfo.InvariantCulture) : 100;
            var title = ulong.Parse(part.Split(':', '@')[0], CultureInfo.InvariantCulture);
            rows[title] = Row((octave, requests));
        }

        return new TitlePrior(rows, unknown ? Row((0, 100)) : null);
    }

    private static double[] Row(params (int Octave, double Requests)[] cells)
    {
        var row = new double[VideoAwarePolicy.Octaves];
        foreach (var (octave, requests) in cells)
        {
            row[octave] = requests;
        }

        return row;
    }
}
