using OpenConnect.Appliance.Caching.Policy;
using OpenConnect.Bench.CacheSim;

namespace OpenConnect.Bench.Tests;

public class CacheSimTests
{
    private static readonly VodWorkload Small = new() { Seed = 3, Requests = 60_000, Titles = 200, SessionsPerDay = 300, NewTitlesPerDay = 5 };

    [Theory]
    [InlineData(0.80, 0.90, 0.70, 0.80 / 0.70, 0.10 / 0.90)]
    [InlineData(0.70, 0.70, 0.70, 1.0, 0.0)]
    [InlineData(0.95, 0.90, 0.60, 0.95 / 0.60, -0.05 / 0.90)]
    public void Ratios_compare_with_belady_and_lru_at_the_same_size(double miss, double lruMiss, double beladyMiss, double toBelady, double belowLru)
    {
        var results = new[] { Result("video", 0.05, miss, 50), Result("lru", 0.05, lruMiss, 900), Result(Simulator.Belady, 0.05, beladyMiss, 100), Result("s3fifo", 0.05, 0.85, 40), Result("lru", 0.01, 0.99, 1) };
        var ratios = Ratios.Of(results);

        Assert.Equal(toBelady, ratios.ToBelady(results[0]), 9);
        Assert.Equal(belowLru, ratios.BelowLru(results[0]), 9);
        Assert.Equal(50.0 / 40, ratios.SsdVsS3Fifo(results[0]), 9);
    }

    [Fact]
    public void Ratios_without_the_reference_policy_are_not_numbers()
    {
        var video = Result("video", 0.10, 0.8, 10);
        var ratios = Ratios.Of([video, Result("lru", 0.05, 0.9, 10)]);
        Assert.True(double.IsNaN(ratios.ToBelady(video)));
        Assert.True(double.IsNaN(ratios.BelowLru(video)));
        Assert.True(double.IsNaN(ratios.SsdVsS3Fifo(video)));
    }

    [Theory]
    [InlineData("halflife=0")]
    [InlineData("sample=0")]
    [InlineData("quantile=2")]
    [InlineData("title=2")]
    [InlineData("colour=1")]
    [InlineData("admit")]
    [InlineData("admit=2,unproven=1")]
    public void Bad_video_parameters_are_usage_errors(string value)
    {
        var error = Assert.Throws<BenchUsageException>(() => CacheSimOptions.Parse(["--video", value]));
        Assert.Contains("--video", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Video_parameters_and_signals_are_parsed()
    {
        var o = CacheSimOptions.Parse(["--video", "halflife=3,sample=8,title=0,position=1,rendition=0,quantile=0.5", "--policies", "video,lru"]);
        Assert.Equal(3, o.Video.HalfLife);
        Assert.Equal(8, o.Video.SampleSize);
        Assert.False(o.Video.UseTitle);
        Assert.True(o.Video.UsePosition);
        Assert.False(o.Video.UseRendition);
        Assert.Equal(0.5, o.Video.AdmitQuantile);
        Assert.Equal(["video", "lru"], o.Policies);
    }

    [Fact]
    public void Generated_traces_carry_one_hint_per_request_and_it_is_a_function_of_the_key()
    {
        var trace = VodTraceGenerator.Generate(Small, "t");
        Assert.NotNull(trace.Hints);
        Assert.Equal(trace.Count, trace.Hints.Length);
        var seen = new Dictionary<ulong, ContentHint>();
        var titles = new HashSet<ulong>();
        for (var i = 0; i < trace.Count; i++)
        {
            var hint = trace.Hints[i];
            Assert.True(hint.HasTitle);
            Assert.InRange(hint.Segment, 0, int.MaxValue);
            Assert.Equal(seen.TryAdd(trace.Keys[i], hint) ? hint : seen[trace.Keys[i]], hint);
            titles.Add(hint.Title);
        }

        // Many objects per title: the hint groups segments, it does not just rename keys.
        Assert.True(titles.Count * 20 < seen.Count, $"{titles.Count} titles for {seen.Count} objects");
    }

    [Fact]
    public void Hints_reach_the_video_policy_and_nothing_else()
    {
        var trace = VodTraceGenerator.Generate(Small, "t");
        var bare = new Trace("bare", trace.Times, trace.Keys, trace.Sizes);
        var video = new VideoPolicyOptions();
        var s3 = new S3FifoOptions();

        var withHints = Simulator.Run(trace, "video", 0.05, s3, video);
        var without = Simulator.Run(bare, "video", 0.05, s3, video);
        Assert.NotEqual(withHints.HitBytes, without.HitBytes);

        Assert.Equal(Simulator.Run(trace, "s3fifo", 0.05, s3, video).HitBytes, Simulator.Run(bare, "s3fifo", 0.05, s3, video).HitBytes);
    }

    [Fact]
    public void Ssd_writes_of_tiered_policies_count_only_entries_to_main()
    {
        var trace = VodTraceGenerator.Generate(Small, "t");
        foreach (var policy in new[] { "video", "s3fifo" })
        {
            var r = Simulator.Run(trace, policy, 0.05, new S3FifoOptions(), new VideoPolicyOptions());
            // Admissions to probation are not writes: far fewer bytes are written than missed.
            Assert.True(r.SsdBytesWritten < (r.RequestedBytes - r.HitBytes) / 2, $"{policy}: {r.SsdBytesWritten} written for {r.RequestedBytes - r.HitBytes} missed");
        }

        var lru = Simulator.Run(trace, "lru", 0.05, new S3FifoOptions(), new VideoPolicyOptions());
        Assert.Equal(lru.RequestedBytes - lru.HitBytes, lru.SsdBytesWritten);
    }

    private static SimResult Result(string policy, double size, double byteMiss, long ssd) =>
        new("t", size, 1_000, policy, 100, 10, 1_000_000, (long)Math.Round((1 - byteMiss) * 1_000_000), ssd, 0);
}
