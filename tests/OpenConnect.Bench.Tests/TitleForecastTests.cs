using OpenConnect.Appliance.Caching.Policy;
using OpenConnect.Bench.CacheSim;

namespace OpenConnect.Bench.Tests;

public class TitleForecastTests
{
    private const uint Day = 86_400;

    [Fact]
    public void A_days_forecast_is_made_from_earlier_days_only()
    {
        // Days 0 and 1 identical in both traces; day 2 differs completely.
        var common = new[] { (0u, 1, 0), (10u, 1, 0), (20u, 2, 0), (Day + 5, 1, 0), (Day + 6, 2, 5) };
        var a = Build(common, [(2 * Day, 1, 0), (2 * Day + 1, 3, 0)]);
        var b = Build(common, [(2 * Day, 2, 9), (2 * Day + 1, 2, 9), (2 * Day + 2, 4, 0)]);

        var pa = TitleForecasts.FromHistory(a);
        var pb = TitleForecasts.FromHistory(b);

        Assert.Equal(3, pa.Length);
        Assert.Null(pa[0]);
        foreach (var d in new[] { 1, 2 })
        {
            foreach (var title in new ulong[] { 1, 2, 3, 4, 99 })
            {
                for (var o = 0; o < VideoAwarePolicy.Octaves; o++)
                {
                    Assert.Equal(pa[d]!.Requests(title, o), pb[d]!.Requests(title, o));
                }
            }
        }

        // Day 1 from day 0: title 1 twice at octave 0, title 2 once; both first seen on day 0, so unknown
        // titles get the mean first-day profile (1.5 at octave 0).
        Assert.Equal(2, pa[1]!.Requests(1, 0));
        Assert.Equal(1, pa[1]!.Requests(2, 0));
        Assert.Equal(1.5, pa[1]!.Requests(99, 0));

        // Day 2, smoothing 0.5: title 1 = 0.5 x 2 + 0.5 x 1; title 2's octave 2 (segment 5) = 0.5 x 1.
        Assert.Equal(1.5, pa[2]!.Requests(1, 0), 9);
        Assert.Equal(0.5, pa[2]!.Requests(2, 0), 9);
        Assert.Equal(0.5, pa[2]!.Requests(2, VideoAwarePolicy.OctaveOf(5)), 9);
    }

    [Fact]
    public void The_exact_rate_bound_is_each_days_own_requests()
    {
        var trace = Build([(0u, 1, 0), (1u, 1, 0), (2u, 1, 3)], [(Day, 2, 0)]);

        var exact = TitleForecasts.ExactRates(trace);

        Assert.Equal(2, exact[0]!.Requests(1, 0));
        Assert.Equal(1, exact[0]!.Requests(1, VideoAwarePolicy.OctaveOf(3)));
        Assert.Equal(0, exact[0]!.Requests(2, 0));
        Assert.Equal(1, exact[1]!.Requests(2, 0));
    }

    [Fact]
    public void A_trace_without_hints_has_nothing_to_forecast_from()
    {
        var trace = new Trace("plain", [0u], [1UL], [10L]);
        Assert.Contains("no title hints", Assert.Throws<ArgumentException>(() => TitleForecasts.FromHistory(trace)).Message);
    }

    [Fact]
    public void The_forecast_policy_replays_deterministically_and_the_bound_is_replayed_too()
    {
        var trace = VodTraceGenerator.Generate(new VodWorkload { Seed = 5, Requests = 80_000, Titles = 200, SessionsPerDay = 60, NewTitlesPerDay = 5 }, "small");
        var video = new VideoPolicyOptions { PriorWeight = 0.5 };
        var forecast = TitleForecasts.FromHistory(trace);
        Assert.True(forecast.Length >= 3, $"the trace spans {forecast.Length} days");

        var first = Simulator.Run(trace, Simulator.VideoForecast, 0.05, new S3FifoOptions(), video, forecast);
        var again = Simulator.Run(trace, Simulator.VideoForecast, 0.05, new S3FifoOptions(), video, forecast);
        var plain = Simulator.Run(trace, "video", 0.05, new S3FifoOptions(), video);
        var unweighted = Simulator.Run(trace, Simulator.VideoForecast, 0.05, new S3FifoOptions(), video with { PriorWeight = 0 }, forecast);
        var exact = Simulator.Run(trace, Simulator.VideoExactRates, 0.05, new S3FifoOptions(), video with { PriorWeight = 20 }, TitleForecasts.ExactRates(trace));

        Assert.Equal(first.HitBytes, again.HitBytes);
        Assert.Equal(first.SsdBytesWritten, again.SsdBytesWritten);
        // Weight 0 ignores the forecast; a weighted prior changes decisions (otherwise it was never delivered).
        Assert.Equal(plain.HitBytes, unweighted.HitBytes);
        Assert.Equal(plain.SsdBytesWritten, unweighted.SsdBytesWritten);
        Assert.NotEqual(plain.HitBytes, first.HitBytes);
        Assert.NotEqual(plain.HitBytes, exact.HitBytes);
    }

    private static Trace Build((uint Time, int Title, int Segment)[] first, (uint Time, int Title, int Segment)[] second)
    {
        var builder = new TraceBuilder(16);
        foreach (var (time, title, segment) in first.Concat(second))
        {
            builder.Add(time, VodTraceGenerator.SegmentKey(title, 0, segment), 100, new ContentHint((ulong)title, 1, segment));
        }

        return builder.Build("t");
    }
}
