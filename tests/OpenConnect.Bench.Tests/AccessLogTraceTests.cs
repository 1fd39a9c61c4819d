using System.Net;
using OpenConnect.Appliance.Caching;
using OpenConnect.Appliance.Caching.Policy;
using OpenConnect.Appliance.Serving;
using OpenConnect.Bench.CacheSim;

namespace OpenConnect.Bench.Tests;

public sealed class AccessLogTraceTests : IDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), "oc-access-" + Guid.NewGuid().ToString("N") + ".log");

    public void Dispose() => File.Delete(_file);

    [Fact]
    public void Replays_the_content_gets_of_an_appliance_json_access_log()
    {
        var t0 = new DateTimeOffset(2026, 12, 7, 3, 0, 0, TimeSpan.Zero);
        AccessEntry[] entries =
        [
            Entry(t0, "GET", "/v/t1/720p/seg-00003.m4s", 200, 5_000),
            Entry(t0.AddSeconds(2), "HEAD", "/v/t1/720p/seg-00004.m4s", 200, 0),
            Entry(t0.AddSeconds(3), "GET", "/v/t1/720p/seg-00003.m4s", 206, 1_000),
            Entry(t0.AddSeconds(4), "GET", "/v/t2/360p/seg-00000.m4s", 404, 0),
            Entry(t0.AddSeconds(5), "GET", "/metrics", 200, 900),
            Entry(t0.AddSeconds(90), "GET", "/v/t2/360p/init.mp4", 206, 700),
        ];
        File.WriteAllLines(_file, entries.Select(e => AccessLogFormat.FormatJson(e)));

        var trace = AccessLogTrace.Read(_file, int.MaxValue);

        Assert.Equal(3, trace.Count);
        Assert.Equal([0u, 3u, 90u], trace.Times);
        Assert.Equal([KeyHash.Of("/v/t1/720p/seg-00003.m4s"), KeyHash.Of("/v/t1/720p/seg-00003.m4s"), KeyHash.Of("/v/t2/360p/init.mp4")], trace.Keys);
        // A path's size is its whole body (the 200), not the range a 206 sent; with no 200, the largest range.
        Assert.Equal([5_000L, 5_000L, 700L], trace.Sizes);
        Assert.Equal(ContentHint.FromPath("/v/t1/720p/seg-00003.m4s"), trace.Hints![0]);
        Assert.Equal(3, trace.Hints[0].Segment);
        Assert.Equal(5_700, trace.UniqueBytes);
    }

    [Fact]
    public void A_line_that_is_not_a_json_access_entry_is_named()
    {
        File.WriteAllLines(_file, [AccessLogFormat.FormatJson(Entry(DateTimeOffset.UnixEpoch, "GET", "/v/a/b/c1.m4s", 200, 10)), "127.0.0.1 - - [07/Dec/2026:03:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\""]);
        var ex = Assert.Throws<BenchUsageException>(() => AccessLogTrace.Read(_file, int.MaxValue));
        Assert.Contains(":2: not a JSON access log line", ex.Message);
    }

    [Fact]
    public void A_log_without_content_requests_is_refused()
    {
        File.WriteAllLines(_file, [AccessLogFormat.FormatJson(Entry(DateTimeOffset.UnixEpoch, "GET", "/healthz", 200, 10))]);
        Assert.Contains("no GET of a /v/ content path", Assert.Throws<BenchUsageException>(() => AccessLogTrace.Read(_file, int.MaxValue)).Message);
    }

    private static AccessEntry Entry(DateTimeOffset time, string method, string path, int status, long bytes) =>
        new(time, IPAddress.Loopback, method, path, status, bytes, "miss", TimeSpan.FromMilliseconds(3));
}
