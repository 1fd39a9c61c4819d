using OpenConnect.Contracts.Content;

namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>HTTP/1.1 conformance of the segment server, over raw sockets.</summary>
public class ProtocolTests : TransportTests, IAsyncLifetime
{
    private const string Segment = "/v/t1/720p/seg-00001.m4s";
    private const string Playlist = "/v/t1/master.m3u8";
    private readonly byte[] _segment = ApplianceHarness.RandomBytes(300_000, 1);
    private ApplianceHarness _h = null!;

    public async Task InitializeAsync()
    {
        _h = await StartAsync("--Appliance:Limits:RequestHeadTimeout=00:00:01", "--Appliance:Limits:MaxRequestLineBytes=1024", "--Appliance:Limits:MaxRequestHeaderBytes=2048");
        _h.Parent.Put(Segment, _segment);
        _h.Parent.Put(Playlist, "#EXTM3U\n"u8.ToArray());
    }

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private static string Get(string path, string extra = "") => $"GET {path} HTTP/1.1\r\nHost: a\r\n{extra}\r\n";

    [Fact]
    public async Task Get_MissThenHit_ServeIdenticalBytes_WithValidatorsTypesAndCors()
    {
        using var c = await _h.ConnectAsync();
        await c.SendAsync(Get(Segment, "Origin: https://player.example\r\n"));
        var miss = await c.ReadResponseAsync();
        await c.SendAsync(Get(Segment));
        var hit = await c.ReadResponseAsync();

        foreach (var r in new[] { miss, hit })
        {
            Assert.Equal(200, r.Status);
            Assert.Equal(_segment, r.Body);
            Assert.Equal("300000", r["Content-Length"]);
            Assert.Equal("video/iso.segment", r["Content-Type"]);
            Assert.Equal("bytes", r["Accept-Ranges"]);
            Assert.Equal(ContentTypes.ImmutableCacheControl, r["Cache-Control"]);
            Assert.Equal("Sun, 01 Nov 2026 12:00:00 GMT", r["Last-Modified"]);
            Assert.Equal("*", r["Access-Control-Allow-Origin"]);
            Assert.Contains("Content-Range", r["Access-Control-Expose-Headers"]);
            Assert.StartsWith("\"", r["ETag"]);
        }

        Assert.Equal(miss["ETag"], hit["ETag"]);
        Assert.Equal(1, _h.Parent.RequestsFor(Segment));
        Assert.Equal(1, await _h.MetricAsync("openconnect_appliance_requests_total", ("tier", "miss")));
        Assert.Equal(1, await _h.MetricAsync("openconnect_appliance_requests_total", ("tier", "ram")));
    }

    [Fact]
    public async Task Manifest_GetsShortCacheControlAndPlaylistType()
    {
        using var c = await _h.ConnectAsync();
        await c.SendAsync(Get(Playlist));
        var r = await c.ReadResponseAsync();
        Assert.Equal(200, r.Status);
        Assert.Equal("application/vnd.apple.mpegurl", r["Content-Type"]);
        // The freshness left of the default Appliance:Cache:PlaylistTtl (5 s; this parent sends no max-age), never immutable.
        Assert.Matches("^public, max-age=[45]$", r["Cache-Control"]);
        Assert.Equal("#EXTM3U\n", r.Text);
    }

    [Fact]
    public async Task Head_HasHeadersWithoutBody_AndKeepsTheConnection()
    {
        using var c = await _h.ConnectAsync();
        await c.SendAsync($"HEAD {Segment} HTTP/1.1\r\nHost: a\r\n\r\n" + Get(Playlist));
        var head = await c.ReadResponseAsync(noBody: true);
        Assert.Equal(200, head.Status);
        Assert.Equal("300000", head["Content-Length"]);
        Assert.Empty(head.Body);
        var next = await c.ReadResponseAsync();
        Assert.Equal("#EXTM3U\n", next.Text);
    }

    [Theory]
    [InlineData("bytes=0-9", 206, 0, 10)]
    [InlineData("bytes=299990-", 206, 299990, 10)]
    [InlineData("bytes=-5", 206, 299995, 5)]
    [InlineData("bytes=0-", 206, 0, 300000)]
    public async Task Range_SingleRange_Gets206WithContentRange(string range, int status, int start, int length)
    {
        using var c = await _h.ConnectAsync();
        for (var round = 0; round < 2; round++)
        {
            // Round 0 is a miss (served cut-through), round 1 a RAM hit.
            await c.SendAsync(Get(Segment, $"Range: {range}\r\n"));
            var r = await c.ReadResponseAsync();
            Assert.Equal(status, r.Status);
            Assert.Equal($"bytes {start}-{start + length - 1}/300000", r["Content-Range"]);
            Assert.Equal(_segment.AsSpan(start, length).ToArray(), r.Body);
        }

        Assert.Equal(1, _h.Parent.RequestsFor(Segment));
    }

    [Fact]
    public async Task Range_Unsatisfiable_Gets416_WithStarLength()
    {
        using var c = await _h.ConnectAsync();
        await c.SendAsync(Get(Segment, "Range: bytes=400000-\r\n"));
        var r = await c.ReadResponseAsync();
        Assert.Equal(416, r.Status);
        Assert.Equal("bytes */300000", r["Content-Range"]);
        Assert.Empty(r.Body);
    }

    [Fact]
    public async Task Conditionals_NotModifiedAndIfRange()
    {
        using var c = await _h.ConnectAsync();
        await c.SendAsync(Get(Segment));
        var first = await c.ReadResponseAsync();
        var etag = first["ETag"];

        await c.SendAsync(Get(Segment, $"If-None-Match: {etag}\r\n"));
        Assert.Equal(304, (await c.ReadResponseAsync()).Status);
        await c.SendAsync(Get(Segment, "If-Modified-Since: Sun, 01 Nov 2026 12:00:00 GMT\r\n"));
        Assert.Equal(304, (await c.ReadResponseAsync()).Status);
        await c.SendAsync(Get(Segment, "If-Modified-Since: Sat, 31 Oct 2026 12:00:00 GMT\r\n"));
        Assert.Equal(200, (await c.ReadResponseAsync()).Status);
        await c.SendAsync(Get(Segment, $"Range: bytes=0-1\r\nIf-Range: {etag}\r\n"));
        Assert.Equal(206, (await c.ReadResponseAsync()).Status);
        await c.SendAsync(Get(Segment, "Range: bytes=0-1\r\nIf-Range: \"stale\"\r\n"));
        var full = await c.ReadResponseAsync();
        Assert.Equal(200, full.Status);
        Assert.Equal(300000, full.Body.Length);
    }

    [Fact]
    public async Task Pipelined_Requests_AreAnsweredInOrder()
    {
        using var c = await _h.ConnectAsync();
        await c.SendAsync(Get(Playlist) + Get(Segment, "Range: bytes=0-3\r\n") + Get(Playlist) + Get("/v/t1/absent.m4s"));
        Assert.Equal("#EXTM3U\n", (await c.ReadResponseAsync()).Text);
        Assert.Equal(_segment.AsSpan(0, 4).ToArray(), (await c.ReadResponseAsync()).Body);
        Assert.Equal("#EXTM3U\n", (await c.ReadResponseAsync()).Text);
        Assert.Equal(404, (await c.ReadResponseAsync()).Status);
    }

    [Fact]
    public async Task ConnectionClose_IsHonoured()
    {
        using var c = await _h.ConnectAsync();
        await c.SendAsync(Get(Playlist, "Connection: close\r\n"));
        var r = await c.ReadResponseAsync();
        Assert.Equal("close", r["Connection"]);
        Assert.True(await c.IsClosedByServerAsync(TimeSpan.FromSeconds(5)));
    }

    [Theory]
    [InlineData("GARBAGE\r\n\r\n", 400)]
    [InlineData("GET /v/t1/master.m3u8 HTTP/1.1\r\n\r\n", 400)] // no Host
    [InlineData("GET /v/t1/master.m3u8 HTTP/1.1\nHost: a\n\n", 400)]
    [InlineData("GET /v/t1/master.m3u8 HTTP/2.0\r\nHost: a\r\n\r\n", 505)]
    [InlineData("GET /v/t1/master.m3u8 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", 400)]
    public async Task Malformed_GetsErrorAndClose(string raw, int status)
    {
        using var c = await _h.ConnectAsync();
        await c.SendAsync(raw);
        var r = await c.ReadResponseAsync();
        Assert.Equal(status, r.Status);
        Assert.True(await c.IsClosedByServerAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(0, _h.Parent.TotalRequests);
    }

    [Fact]
    public async Task OverlongRequestLine_Gets414_AndHugeHeaders_Get431()
    {
        using (var c = await _h.ConnectAsync())
        {
            await c.SendAsync(Get("/v/t1/" + new string('a', 2000)));
            Assert.Equal(414, (await c.ReadResponseAsync()).Status);
        }

        using (var c = await _h.ConnectAsync())
        {
            await c.SendAsync(Get(Playlist, $"X-Filler: {new string('b', 4000)}\r\n"));
            Assert.Equal(431, (await c.ReadResponseAsync()).Status);
        }
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("DELETE")]
    [InlineData("PUT")]
    public async Task OtherMethods_Get405_WithAllow(string method)
    {
        using var c = await _h.ConnectAsync();
        await c.SendAsync($"{method} {Segment} HTTP/1.1\r\nHost: a\r\n\r\n");
        var r = await c.ReadResponseAsync();
        Assert.Equal(405, r.Status);
        Assert.Equal("GET, HEAD, OPTIONS", r["Allow"]);
    }

    [Theory]
    [InlineData("/v/../../etc/passwd")]
    [InlineData("/v/t1/720p/..%2f..%2fetc%2fpasswd")]
    [InlineData("/v/t1/720p/%2e%2e")]
    [InlineData("/v/t1/720p/.hidden")]
    [InlineData("/v/t1/720p/a/b/c.m4s")]
    public async Task TraversalAttempts_Get404_WithoutTouchingParentsOrDisk(string path)
    {
        using var c = await _h.ConnectAsync();
        await c.SendAsync(Get(path));
        Assert.Equal(404, (await c.ReadResponseAsync()).Status);
        Assert.Equal(0, _h.Parent.TotalRequests);
    }

    [Fact]
    public async Task Preflight_IsAnsweredWithoutTheCache()
    {
        using var c = await _h.ConnectAsync();
        await c.SendAsync($"OPTIONS {Segment} HTTP/1.1\r\nHost: a\r\nOrigin: https://player.example\r\nAccess-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: range\r\n\r\n");
        var r = await c.ReadResponseAsync();
        Assert.Equal(204, r.Status);
        Assert.Equal("*", r["Access-Control-Allow-Origin"]);
        Assert.Contains("GET", r["Access-Control-Allow-Methods"]);
        Assert.Contains("Range", r["Access-Control-Allow-Headers"]);
        Assert.Equal(0, _h.Parent.TotalRequests);
    }

    [Fact]
    public async Task StalledRequestHead_IsCutOff_With408()
    {
        using var c = await _h.ConnectAsync();
        await c.SendAsync("GET /v/t1/master.m3u8 HTTP/1.1\r\nHo");
        var r = await c.ReadResponseAsync();
        Assert.Equal(408, r.Status);
        Assert.True(await c.IsClosedByServerAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task NonContentPaths_AreHandedToAspNetCore()
    {
        using var c = await _h.ConnectAsync();
        // /healthz lives on the management listener: on the data port ASP.NET Core answers it 404.
        await c.SendAsync(Get(Playlist) + Get("/healthz"));
        Assert.Equal("#EXTM3U\n", (await c.ReadResponseAsync()).Text);
        var health = await c.ReadResponseAsync();
        Assert.Equal(404, health.Status);

        // A handed-over connection is closed after that answer (content is only ever served by the
        // segment server); the client's next request comes on a new connection.
        Assert.Equal("close", health["Connection"]);
        Assert.True(await c.IsClosedByServerAsync(TimeSpan.FromSeconds(10)));
        using var next = await _h.ConnectAsync();
        await next.SendAsync(Get(Segment, "Range: bytes=5-9\r\n"));
        var r = await next.ReadResponseAsync();
        Assert.Equal(206, r.Status);
        Assert.Equal(_segment.AsSpan(5, 5).ToArray(), r.Body);
    }
}
