using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using OpenConnect.Testing;

namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>Misses: parents in order, collapsing, cut-through, negative caching, failures.</summary>
public class PullThroughTests : TransportTests
{
    private const string Path1 = "/v/t2/1080p/seg-00007.m4s";

    [Fact]
    public async Task ConcurrentMisses_MakeExactlyOneUpstreamFetch_CountedAtTheParent()
    {
        await using var h = await StartAsync();
        var body = ApplianceHarness.RandomBytes(1_500_000, 7);
        h.Parent.Put(Path1, body);
        h.Parent.HeadDelay = TimeSpan.FromMilliseconds(400);

        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = h.BaseAddress };
        var responses = await Task.WhenAll(Enumerable.Range(0, 24).Select(_ => client.GetByteArrayAsync(Path1)));

        Assert.All(responses, r => Assert.Equal(body, r));
        Assert.Equal(1, h.Parent.RequestsFor(Path1));
        Assert.Equal(23, await h.MetricAsync("openconnect_appliance_collapsed_requests_total"));
    }

    [Fact]
    public async Task Miss_IsCutThrough_FirstBytesArriveLongBeforeTheParentFinishes()
    {
        await using var h = await StartAsync();
        var body = ApplianceHarness.RandomBytes(1_048_576, 8);
        h.Parent.Put(Path1, body);
        h.Parent.ChunkBytes = 64 * 1024;
        h.Parent.ChunkDelay = TimeSpan.FromMilliseconds(150); // 16 chunks: the parent needs >= 2.25 s

        using var client = new HttpClient { BaseAddress = h.BaseAddress };
        var clock = Stopwatch.StartNew();
        using var response = await client.GetAsync(Path1, HttpCompletionOption.ResponseHeadersRead);
        await using var stream = await response.Content.ReadAsStreamAsync();
        var first = new byte[64 * 1024];
        await stream.ReadExactlyAsync(first);
        var firstChunk = clock.Elapsed;
        var rest = new MemoryStream();
        await stream.CopyToAsync(rest);
        var total = clock.Elapsed;

        Assert.Equal(body.AsSpan(0, first.Length).ToArray(), first);
        Assert.Equal(body.AsSpan(first.Length).ToArray(), rest.ToArray());
        Assert.True(total >= TimeSpan.FromSeconds(2), $"the parent was throttled, yet the transfer took only {total}");
        Assert.True(firstChunk < total / 3, $"first 64 KiB after {firstChunk} of {total}: not cut-through");
    }

    [Fact]
    public async Task RangeOnMiss_FetchesTheWholeObjectOnce_AndServesTheRange()
    {
        await using var h = await StartAsync();
        var body = ApplianceHarness.RandomBytes(500_000, 9);
        h.Parent.Put(Path1, body);
        using var client = new HttpClient { BaseAddress = h.BaseAddress };

        using var request = new HttpRequestMessage(HttpMethod.Get, Path1);
        request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(1000, 1999);
        using var partial = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal(body.AsSpan(1000, 1000).ToArray(), await partial.Content.ReadAsByteArrayAsync());

        Assert.Equal(body, await client.GetByteArrayAsync(Path1));
        Assert.Equal(1, h.Parent.RequestsFor(Path1));
    }

    [Fact]
    public async Task NotFound_IsCachedBriefly()
    {
        await using var h = await StartAsync("--Appliance:Upstream:NotFoundTtl=00:00:01");
        using var client = new HttpClient { BaseAddress = h.BaseAddress };
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v/nope/720p/a.m4s")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v/nope/720p/a.m4s")).StatusCode);
        Assert.Equal(1, h.Parent.RequestsFor("/v/nope/720p/a.m4s"));

        await Task.Delay(1200);
        h.Parent.Put("/v/nope/720p/a.m4s", [1, 2, 3]);
        Assert.Equal([1, 2, 3], await client.GetByteArrayAsync("/v/nope/720p/a.m4s"));
        Assert.Equal(2, h.Parent.RequestsFor("/v/nope/720p/a.m4s"));
    }

    [Fact]
    public async Task FailingParents_AreSkipped_InOrder()
    {
        await using var broken = await TestParent.StartAsync();
        broken.FailWithStatus = 500;
        await using var h = await StartWithParentsAsync([DeadEndpoint(), broken.BaseAddress.ToString()]);
        var body = ApplianceHarness.RandomBytes(10_000, 10);
        h.Parent.Put(Path1, body);
        using var client = new HttpClient { BaseAddress = h.BaseAddress };

        Assert.Equal(body, await client.GetByteArrayAsync(Path1));
        Assert.Equal(1, broken.RequestsFor(Path1));
        Assert.Equal(1, h.Parent.RequestsFor(Path1));
        Assert.Equal(2, (await h.MetricsAsync()).Families["openconnect_appliance_upstream_failures_total"].Samples.Sum(s => s.Value));
    }

    [Fact]
    public async Task NoParentAnswers_Gets502()
    {
        await using var h = await StartAsync();
        h.Parent.FailWithStatus = 503;
        using var client = new HttpClient { BaseAddress = h.BaseAddress };
        var response = await client.GetAsync(Path1);
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("no parent", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task SlowParent_Gets504_AfterTheHeaderTimeout()
    {
        await using var h = await StartAsync("--Appliance:Upstream:HeaderTimeout=00:00:00.500");
        h.Parent.Put(Path1, [1]);
        h.Parent.HeadDelay = TimeSpan.FromSeconds(5);
        using var client = new HttpClient { BaseAddress = h.BaseAddress };
        var clock = Stopwatch.StartNew();
        var response = await client.GetAsync(Path1);
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task ParentCutMidBody_ClientSeesATruncatedResponse_AndNothingIsCached()
    {
        await using var h = await StartAsync();
        var body = ApplianceHarness.RandomBytes(400_000, 11);
        h.Parent.Put(Path1, body);
        h.Parent.AbortAfterBytes = 100_000;
        using var client = new HttpClient { BaseAddress = h.BaseAddress };
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetByteArrayAsync(Path1));

        h.Parent.AbortAfterBytes = null;
        Assert.Equal(body, await client.GetByteArrayAsync(Path1));
        Assert.Equal(2, h.Parent.RequestsFor(Path1));
    }

    private static string DeadEndpoint()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return $"http://127.0.0.1:{port}";
    }
}
