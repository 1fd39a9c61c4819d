using OpenConnect.Bench.Players;

namespace OpenConnect.Bench.Tests;

public class TraceTests
{
    // 1,000 bytes/s for the first second, then 2,000 bytes/s (held after the end).
    private static readonly NetworkTrace TwoSteps = new("t", [8_000, 16_000], TimeSpan.Zero);

    [Theory]
    [InlineData(0.0, 1.0, 1_000.0)]
    [InlineData(0.5, 1.5, 1_500.0)]
    [InlineData(1.0, 4.0, 6_000.0)]
    [InlineData(2.0, 2.0, 0.0)]
    public void BytesBetween(double from, double to, double bytes) => Assert.Equal(bytes, TwoSteps.BytesBetween(from, to), 6);

    [Theory]
    [InlineData(0.0, 500.0, 0.5)]
    [InlineData(0.5, 1_500.0, 1.5)]
    [InlineData(0.0, 5_000.0, 3.0)]
    [InlineData(3.0, 2_000.0, 4.0)]
    public void TimeToCarry(double from, double bytes, double at) => Assert.Equal(at, TwoSteps.TimeToCarry(from, bytes), 6);

    [Fact]
    public void Trace_RejectsAZeroRate() =>
        Assert.Throws<ArgumentException>(() => new NetworkTrace("bad", [1_000, 0], TimeSpan.Zero));

    [Fact]
    public void Limiter_LetsABurstThroughThenPacesAtTheTraceRate()
    {
        var limiter = new TraceLimiter(new NetworkTrace("8 kB/s", [64_000], TimeSpan.Zero), 0);
        Assert.Equal(0, limiter.Pay(TraceLimiter.BurstBytes, 0));
        Assert.Equal(1.0, limiter.Pay(8_000, 0), 6);
        // Still in debt until t = 1: the next 8,000 bytes are repaid at t = 2.
        Assert.Equal(1.5, limiter.Pay(8_000, 0.5), 6);
        // Long idle: the bucket refills, but only to the burst size.
        Assert.Equal(0, limiter.Pay(TraceLimiter.BurstBytes, 10));
        Assert.Equal(0.125, limiter.Pay(1_000, 10), 6);
    }

    [Fact]
    public void Limiter_FollowsARateChange()
    {
        // 1,000 bytes/s in second 0, 4,000 bytes/s after.
        var limiter = new TraceLimiter(new NetworkTrace("step", [8_000, 32_000], TimeSpan.Zero), 0);
        limiter.Pay(TraceLimiter.BurstBytes, 0);
        // 1,000 bytes by t = 1, the other 4,000 at 4,000 bytes/s: done at t = 2.
        Assert.Equal(2.0, limiter.Pay(5_000, 0), 6);
    }

    [Fact]
    public void Variable_IsDeterministicPerSeedAndHasTheProfilesMean()
    {
        var a = TraceGenerator.Variable(LinkProfile.Cable, 20_000, 7);
        Assert.Equal(a.BitsPerSecond, TraceGenerator.Variable(LinkProfile.Cable, 20_000, 7).BitsPerSecond);
        Assert.NotEqual(a.BitsPerSecond, TraceGenerator.Variable(LinkProfile.Cable, 20_000, 8).BitsPerSecond);

        // Cable has no fades: mean and coefficient of variation are the profile's.
        Assert.InRange(a.Mean / LinkProfile.Cable.MeanBitsPerSecond, 0.97, 1.03);
        var sd = Math.Sqrt(a.BitsPerSecond.Average(r => (r - a.Mean) * (r - a.Mean)));
        Assert.InRange(sd / a.Mean, 0.12, 0.18);
    }

    [Fact]
    public void Variable_MobileFadesAboutOncePerMinute()
    {
        var trace = TraceGenerator.Variable(LinkProfile.Mobile, 60_000, 3);
        Assert.All(trace.BitsPerSecond, r => Assert.True(r >= TraceGenerator.MinimumBitsPerSecond));
        // Fades are 10% of a log-normal rate: seconds under 15% of the mean are (nearly) all fades.
        var deep = trace.BitsPerSecond.Count(r => r < 0.15 * LinkProfile.Mobile.MeanBitsPerSecond);
        // About one fade of 2 s on average per minute: ~2,000 fade seconds in 1,000 minutes (+ rare deep troughs).
        Assert.InRange(deep, 1_400, 3_200);
    }

    [Fact]
    public void StepDown_HalvesThenDropsTo40Percent()
    {
        var trace = TraceGenerator.StepDown(LinkProfile.Mobile, 90);
        Assert.Equal(4_000_000, trace.RateAt(0));
        Assert.Equal(4_000_000, trace.RateAt(29.9));
        Assert.Equal(2_000_000, trace.RateAt(30));
        Assert.Equal(800_000, trace.RateAt(60));
        Assert.Equal(800_000, trace.RateAt(500));
    }
}
