using System.Net;
using OpenConnect.Appliance.Caching;
using OpenConnect.Appliance.Serving;
using OpenConnect.Bench.CacheSim;
using OpenConnect.Bench.Players;

namespace OpenConnect.Bench.Tests;

/// <summary>The players bench's recorded trace: the appliances' JSON access logs merged for <c>cache-sim</c>, and the swarm's title and watch-time draws.</summary>
public sealed class RecordedTraceTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 17, 0, 0, TimeSpan.Zero);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "oc-recorded-" + Guid.NewGuid().ToString("N"));

    public RecordedTraceTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void The_appliances_logs_merge_in_time_order_without_peer_pulls_and_replay_in_cache_sim()
    {
        var path = Path.Combine(_directory, "trace.jsonl");
        var a = RecordedTrace.LogPath(path, "oca-a");
        var b = RecordedTrace.LogPath(path, "oca-b");
        File.WriteAllLines(a,
        [
            Line(T0, "/v/t1/r0/seg-00000.m4s", 1_000),
            Line(T0.AddSeconds(4), "/v/t1/r0/seg-00001.m4s", 2_000),
            // oca-b pulling from oca-a as its parent: a miss of oca-b, not a viewer's request.
            Line(T0.AddSeconds(5), "/v/t2/r0/seg-00000.m4s", 3_000, caller: "openconnect://appliance/local/oca-b"),
        ]);
        File.WriteAllLines(b,
        [
            Line(T0.AddSeconds(2), "/v/t2/r0/seg-00000.m4s", 3_000),
            Line(T0.AddSeconds(4), "/v/t2/r0/index.m3u8", 500),
            Line(T0.AddSeconds(6), "/v/t1/r0/seg-00000.m4s", 1_000),
        ]);

        var shape = RecordedTrace.Merge(path, [a, b, Path.Combine(_directory, "never-written")]);

        Assert.Equal(5, shape.Lines);
        Assert.Equal(5, shape.Requests);
        Assert.Equal(2, shape.Titles);
        Assert.Equal(4, shape.Objects);
        Assert.Equal(6_500, shape.UniqueBytes);
        Assert.Equal(7_500, shape.RequestedBytes);
        Assert.Equal(6, shape.Seconds);
        // Equal times keep the order of the logs as given.
        var trace = AccessLogTrace.Read(path, int.MaxValue);
        Assert.Equal([0u, 2u, 4u, 4u, 6u], trace.Times);
        Assert.Equal(
            [KeyHash.Of("/v/t1/r0/seg-00000.m4s"), KeyHash.Of("/v/t2/r0/seg-00000.m4s"), KeyHash.Of("/v/t1/r0/seg-00001.m4s"), KeyHash.Of("/v/t2/r0/index.m3u8"), KeyHash.Of("/v/t1/r0/seg-00000.m4s")],
            trace.Keys);
    }

    [Fact]
    public void A_log_line_that_is_not_json_is_named()
    {
        var path = Path.Combine(_directory, "trace.jsonl");
        var a = RecordedTrace.LogPath(path, "oca-a");
        File.WriteAllLines(a, [Line(T0, "/v/t1/r0/seg-00000.m4s", 1_000), "not json"]);
        Assert.Contains("oca-a:2: not a JSON access log line", Assert.Throws<BenchUsageException>(() => RecordedTrace.Merge(path, [a])).Message);
    }

    [Fact]
    public void Turning_the_log_on_removes_an_old_one_and_names_json()
    {
        var path = Path.Combine(_directory, "trace.jsonl");
        File.WriteAllText(RecordedTrace.LogPath(path, "oca-a"), "old");
        var settings = RecordedTrace.ApplianceSettings(path, "oca-a").ToList();
        Assert.False(File.Exists(RecordedTrace.LogPath(path, "oca-a")));
        Assert.Contains("--Appliance:AccessLog:Format=json", settings);
        Assert.Contains($"--Appliance:AccessLog:Path={Path.GetFullPath(RecordedTrace.LogPath(path, "oca-a"))}", settings);
    }

    [Fact]
    public void Titles_follow_the_zipf_law_and_watch_times_the_exponential()
    {
        var draw = new SessionDraw(titles: 10, zipf: 1.0, watchMeanSeconds: 20, seed: 7);
        var harmonic = Enumerable.Range(1, 10).Sum(k => 1.0 / k);
        Assert.Equal(1 / harmonic, draw.Share(0), 9);
        Assert.Equal(1 / (10 * harmonic), draw.Share(9), 9);

        const int N = 200_000;
        var counts = new int[10];
        double watched = 0;
        for (var i = 0; i < N; i++)
        {
            counts[draw.Title()]++;
            watched += draw.WatchTime()!.Value.TotalSeconds;
        }

        for (var k = 0; k < 10; k++)
        {
            Assert.InRange((double)counts[k] / N, draw.Share(k) * 0.95, draw.Share(k) * 1.05);
        }

        Assert.InRange(watched / N, 19.5, 20.5);
    }

    [Fact]
    public void Without_zipf_or_watch_mean_every_title_is_as_likely_and_no_one_leaves()
    {
        var draw = new SessionDraw(titles: 4, zipf: 0, watchMeanSeconds: 0, seed: 1);
        Assert.All(Enumerable.Range(0, 4), k => Assert.Equal(0.25, draw.Share(k), 9));
        Assert.Null(draw.WatchTime());
    }

    [Theory]
    [InlineData("--zipf", "-1")]
    [InlineData("--zipf", "x")]
    [InlineData("--watch-mean", "NaN")]
    [InlineData("--record-trace", "")]
    public void Options_reject_bad_trace_settings(string name, string value) =>
        Assert.Throws<BenchUsageException>(() => PlayersOptions.Parse([name, value]));

    [Fact]
    public void Options_default_to_the_unrecorded_round_robin_swarm()
    {
        var o = PlayersOptions.Parse([]);
        Assert.Null(o.RecordTrace);
        Assert.Equal(0, o.Zipf);
        Assert.Equal(0, o.WatchMeanSeconds);
        var recorded = PlayersOptions.Parse(["--record-trace", "/tmp/t.jsonl", "--zipf", "0.8", "--watch-mean", "30"]);
        Assert.Equal(("/tmp/t.jsonl", 0.8, 30.0), (recorded.RecordTrace, recorded.Zipf, recorded.WatchMeanSeconds));
    }

    private static string Line(DateTimeOffset time, string path, long bytes, string? caller = null) =>
        AccessLogFormat.FormatJson(new AccessEntry(time, IPAddress.Loopback, "GET", path, 200, bytes, "miss", TimeSpan.FromMilliseconds(2), caller));
}
