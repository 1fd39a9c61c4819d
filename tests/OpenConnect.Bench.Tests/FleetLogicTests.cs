using OpenConnect.Bench.Fleet;
using OpenConnect.Bench.Players;

namespace OpenConnect.Bench.Tests;

public class FleetLogicTests
{
    private static readonly Dictionary<string, string[]> Sites = new(StringComparer.Ordinal)
    {
        ["site-a"] = ["a1", "a2"],
        ["site-b"] = ["b1", "b2"],
    };

    [Theory]
    [InlineData(30, 1)]
    [InlineData(120, 42)]
    [InlineData(600, 7)]
    public void ChaosSchedule_KillsOnePerSite_PartitionsOne_StopsASite_OneAtATime_AndEndsBeforeTheRunDoes(int seconds, int seed)
    {
        var schedule = ChaosSchedule.Create(seconds, seed, Sites);

        Assert.Equal([ChaosKind.Kill, ChaosKind.Kill, ChaosKind.Partition, ChaosKind.SiteStop], schedule.Select(i => i.Kind));
        Assert.Equal(["site-a", "site-b"], schedule.Where(i => i.Kind == ChaosKind.Kill).Select(i => i.Site));
        // Kills and the partition hit the appliance serving the title (listed first).
        Assert.All(schedule.Where(i => i.Kind is ChaosKind.Kill or ChaosKind.Partition), i => Assert.Equal(Sites[i.Site][0], Assert.Single(i.Appliances)));
        var stop = schedule.Single(i => i.Kind == ChaosKind.SiteStop);
        Assert.Equal(Sites[stop.Site], stop.Appliances);
        Assert.True(schedule[0].Start >= 0.1 * seconds);
        Assert.True(schedule[^1].End <= 0.85 * seconds);
        for (var i = 0; i < schedule.Count; i++)
        {
            Assert.True(schedule[i].End > schedule[i].Start);
            if (i > 0)
            {
                // Incidents take turns with a gap (for a restarted appliance to come back).
                Assert.True(schedule[i].Start > schedule[i - 1].End, $"{schedule[i].Describe()} overlaps {schedule[i - 1].Describe()}");
            }
        }
    }

    [Fact]
    public void ChaosSchedule_IsFixedBySeed_AndTheSeedChoosesTheSites()
    {
        var one = ChaosSchedule.Create(120, 42, Sites).Select(i => i.Describe()).ToList();
        Assert.Equal(one, ChaosSchedule.Create(120, 42, Sites).Select(i => i.Describe()));
        var chosen = Enumerable.Range(0, 20).Select(seed => string.Join(';', ChaosSchedule.Create(120, seed, Sites).Select(i => i.Describe()))).Distinct().Count();
        Assert.True(chosen > 1, "every seed gave the same schedule");
    }

    [Fact]
    public void ChaosSchedule_RefusesARunTooShort()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ChaosSchedule.Create(ChaosSchedule.MinimumSeconds - 1, 1, Sites));
    }

    [Fact]
    public void CounterTotal_CountsFromTheFirstSample_AcrossRestarts()
    {
        var total = new CounterTotal();
        Assert.Equal(0, total.Total);
        total.Observe(1000);
        total.Observe(1500);
        Assert.Equal(500, total.Total);
        // Read before a kill, then the process's next life counts from zero.
        total.Restarted();
        total.Observe(200);
        Assert.Equal(700, total.Total);
        // A restart nobody announced: the counter went down.
        total.Observe(50);
        Assert.Equal(750, total.Total);
    }

    [Theory]
    // Priority order, skipping what was tried for this request.
    [InlineData(new[] { 0, 1, 2 }, new[] { false, false, false }, new[] { 0.0, 0, 0 }, 0)]
    [InlineData(new[] { 0, 1, 2 }, new[] { true, false, false }, new[] { 0.0, 0, 0 }, 1)]
    [InlineData(new[] { 2, 0, 1 }, new[] { false, false, false }, new[] { 0.0, 0, 0 }, 2)]
    // A pathway in the penalty box is passed over while another is free.
    [InlineData(new[] { 0, 1, 2 }, new[] { true, false, false }, new[] { 20.0, 20, 0 }, 2)]
    // All penalized: the untried one whose penalty ends first.
    [InlineData(new[] { 0, 1, 2 }, new[] { true, false, false }, new[] { 30.0, 25, 20 }, 2)]
    // A penalty that has run out is no penalty.
    [InlineData(new[] { 0, 1, 2 }, new[] { false, false, false }, new[] { 9.0, 0, 0 }, 0)]
    // Everything tried.
    [InlineData(new[] { 0, 1 }, new[] { true, true }, new[] { 0.0, 0 }, -1)]
    public void PathwayChoice_Next(int[] priority, bool[] tried, double[] penalizedUntil, int expected)
    {
        Assert.Equal(expected, PathwayChoice.Next(priority, tried, penalizedUntil, now: 10));
    }

    [Fact]
    public void PathwayChoice_Order_FollowsSteering_SkipsUnknownIds_AndKeepsTheRestLast()
    {
        Assert.Equal([2, 0, 1], PathwayChoice.Order(["a1", "a2", "origin"], ["origin", "a1", "b7"]));
        Assert.Equal([0, 1, 2], PathwayChoice.Order(["a1", "a2", "origin"], []));
    }

    [Fact]
    public void PlayersSummary_CountsEachSessionOnce_AndAddsUp()
    {
        SessionResult[] sessions =
        [
            Session(ttff: 300, error: null, played: 20, watched: 20, stall: 0.5, bytes: ("198.18.1.11:8400", 1000)),
            Session(ttff: 250, error: null, played: 10, watched: 8, stall: 0, bytes: ("198.18.0.10:8100", 500), stopped: true),
            Session(ttff: null, error: "HttpRequestException: GET http://198.18.1.11:8400/s/tok/v/t/r0/index.m3u8 answered 503", played: 0, watched: 0, stall: 0),
            Session(ttff: null, error: null, played: 0, watched: 0, stall: 0, stopped: true),
            Session(ttff: 400, error: "IOException: reset", played: 4, watched: 3, stall: 1.5, bytes: ("198.18.1.11:8400", 250)),
        ];

        var a = PlayersSummary.Of("ca", sessions);

        Assert.Equal(5, a.Sessions);
        Assert.Equal(3, a.Started);
        Assert.Equal(1, a.FailedStarts);
        Assert.Equal(1, a.CutOff);
        Assert.Equal(1, a.Dropped);
        Assert.Equal(a.Sessions, a.Started + a.FailedStarts + a.CutOff);
        Assert.Equal(2.0, a.StallSeconds, 6);
        Assert.Equal(31.0, a.PlaySeconds, 6);
        Assert.Equal(2.0 / 33.0, a.RebufferRatio, 9);
        Assert.Equal(1250, a.BytesByHost["198.18.1.11:8400"]);
        // The URL's token and path are not part of the reason; the host is.
        Assert.Equal(1, a.FailureReasons["HttpRequestException: GET 198.18.1.11:8400 answered 503"]);
        Assert.Equal(1, a.FailureReasons["IOException: reset"]);

        var back = PlayersSummary.FromJson(a.ToJson());
        Assert.Equal(a.Sessions, back.Sessions);
        Assert.Equal(a.BytesByHost, back.BytesByHost);
        Assert.Equal(a.FailureReasons, back.FailureReasons);

        var all = PlayersSummary.Sum("all", [a, back]);
        Assert.Equal(10, all.Sessions);
        Assert.Equal(2 * a.StallSeconds, all.StallSeconds, 6);
        Assert.Equal(a.RebufferRatio, all.RebufferRatio, 9);
        Assert.Equal(2500, all.BytesByHost["198.18.1.11:8400"]);
        Assert.Equal(2, all.FailureReasons["IOException: reset"]);
    }

    [Theory]
    [InlineData("12.5s a1: HttpRequestException: Connection refused (198.18.1.11:8400)", "a1: HttpRequestException: Connection refused (198.18.1.11:8400)")]
    [InlineData("GET https://h:1/s/abc/v/t/seg-00001.m4s answered 503", "GET h:1 answered 503")]
    public void PlayersSummary_Reason_DropsWhatDiffersPerRequest(string message, string reason)
    {
        Assert.Equal(reason, PlayersSummary.Reason(message));
    }

    [Theory]
    [InlineData(new string[0], 20, 120, 60, 42, true)]
    [InlineData(new[] { "--sessions", "5", "--seconds", "40", "--title-seconds", "20", "--seed", "3", "--chaos", "off" }, 5, 40, 20, 3, false)]
    public void FleetOptions_Parse(string[] args, int sessions, int seconds, int titleSeconds, int seed, bool chaos)
    {
        Assert.Equal(new FleetOptions(sessions, seconds, titleSeconds, seed, chaos), FleetOptions.Parse(args));
    }

    [Theory]
    [InlineData("--chaos", "maybe", "--chaos")]
    [InlineData("--sessions", "0", "--sessions")]
    [InlineData("--seconds", "20", "at least 30")]
    [InlineData("--players", "3", "unknown option")]
    public void FleetOptions_BadInputNamesTheOption(string name, string value, string expected)
    {
        var error = Assert.Throws<BenchUsageException>(() => FleetOptions.Parse([name, value]));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Buffer_CountsAStallStillUnderWay()
    {
        var buffer = new PlaybackBuffer(2);
        buffer.Append(0, 2, last: false);
        // Empty at t = 2; at t = 5 the session ends while stalled: 3 s.
        Assert.Equal(3, buffer.RebufferSecondsAt(5), 6);
        Assert.Equal(0, buffer.RebufferSeconds);
        Assert.Equal(0, new PlaybackBuffer(2).RebufferSecondsAt(5));
    }

    [Fact]
    public void SteeredPlaylist_ListsEveryPathway_DefaultFirst()
    {
        const string text = """
            #EXTM3U
            #EXT-X-CONTENT-STEERING:SERVER-URI="http://s/steering/hls/t?session=x",PATHWAY-ID="oca-b"
            #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a.oca-a",NAME="audio",URI="http://a:1/s/tok/v/t/r4/index.m3u8"
            #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a.oca-b",NAME="audio",URI="http://b:2/s/tok/v/t/r4/index.m3u8"
            #EXT-X-STREAM-INF:BANDWIDTH=1400000,AUDIO="a.oca-a",PATHWAY-ID="oca-a"
            http://a:1/s/tok/v/t/r0/index.m3u8
            #EXT-X-STREAM-INF:BANDWIDTH=1400000,AUDIO="a.oca-b",PATHWAY-ID="oca-b"
            http://b:2/s/tok/v/t/r0/index.m3u8
            """;
        var playlist = SteeredPlaylist.Parse(text);
        Assert.Equal("http://s/steering/hls/t?session=x", playlist.SteeringUri);
        Assert.Equal(["oca-b", "oca-a"], playlist.Pathways.Select(p => p.Id));
        Assert.Equal("http://a:1/s/tok/v/t/r4/index.m3u8", playlist.Pathways[1].Ladder.AudioUri);
    }

    private static SessionResult Session(double? ttff, string? error, double played, double watched, double stall, (string Host, long Bytes)? bytes = null, bool stopped = false) => new(
        "cable-steady", "seed", null, 10, ttff, null, played, stall, stall > 0 ? 1 : 0, 0, 600_000, bytes?.Bytes ?? 0, 0, 0, error, stopped,
        BytesByHost: bytes is { } b ? new Dictionary<string, long> { [b.Host] = b.Bytes } : null,
        WatchedSeconds: watched);
}
