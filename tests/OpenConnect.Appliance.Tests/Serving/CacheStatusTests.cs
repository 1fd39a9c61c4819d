using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Appliance.Caching;

namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>Every response that reached the cache says how in <c>Cache-Status</c> (RFC 9211).</summary>
public class CacheStatusTests : TransportTests
{
    private const string Segment = "/v/cs/1080p/seg-00001.m4s";

    [Fact]
    public async Task AMiss_ThenARamHit()
    {
        await using var h = await StartAsync();
        h.Parent.Put(Segment, ApplianceHarness.RandomBytes(50_000, 51));
        using var client = new HttpClient { BaseAddress = h.BaseAddress };

        Assert.Equal("OpenConnect; fwd=uri-miss; fwd-status=200; stored", await CacheStatusOfAsync(client, Segment));
        await RamAdmissionsAsync(h, 1);
        Assert.Equal("OpenConnect; hit; detail=ram", await CacheStatusOfAsync(client, Segment));

        // Conditional and range responses carry it too.
        using var range = new HttpRequestMessage(HttpMethod.Get, Segment);
        range.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(0, 99);
        using var partial = await client.SendAsync(range);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal("OpenConnect; hit; detail=ram", HeaderOf(partial));
    }

    [Fact]
    public async Task AnSsdHit()
    {
        await using var h = await StartAsync();
        var body = ApplianceHarness.RandomBytes(70_000, 52);
        var cache = h.Appliance.Services.GetRequiredService<SegmentCache>();

        // A filled object is written to the SSD tier only; the first request for it is an SSD hit.
        var stored = await cache.StoreFilledAsync(KeyHash.Of(Segment), Segment, body, SHA256.HashData(body), "video/iso.segment", "\"e1\"", DateTimeOffset.UnixEpoch, CancellationToken.None);
        Assert.True(stored.Ok, stored.Error);

        using var client = new HttpClient { BaseAddress = h.BaseAddress };
        using var response = await client.GetAsync(Segment);
        Assert.Equal(body, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal("OpenConnect; hit; detail=ssd", HeaderOf(response));
        Assert.Equal(0, h.Parent.RequestsFor(Segment));
    }

    [Fact]
    public async Task ConcurrentMisses_OneStartsTheFetch_TheOthersAreCollapsed()
    {
        await using var h = await StartAsync();
        h.Parent.Put(Segment, ApplianceHarness.RandomBytes(40_000, 53));
        h.Parent.HeadDelay = TimeSpan.FromMilliseconds(500);
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 16 }) { BaseAddress = h.BaseAddress };

        var statuses = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => CacheStatusOfAsync(client, Segment)));

        Assert.Equal(1, h.Parent.RequestsFor(Segment));
        Assert.Single(statuses, s => s == "OpenConnect; fwd=uri-miss; fwd-status=200; stored");
        Assert.Equal(3, statuses.Count(s => s == "OpenConnect; fwd=uri-miss; fwd-status=200; collapsed; detail=collapsed"));
    }

    [Fact]
    public async Task A404FromTheParent_ThenTheRemembered404()
    {
        await using var h = await StartAsync();
        using var client = new HttpClient { BaseAddress = h.BaseAddress };

        using var first = await client.GetAsync("/v/cs/1080p/missing.m4s");
        Assert.Equal(HttpStatusCode.NotFound, first.StatusCode);
        Assert.Equal("OpenConnect; fwd=uri-miss; fwd-status=404", HeaderOf(first));

        using var second = await client.GetAsync("/v/cs/1080p/missing.m4s");
        Assert.Equal(HttpStatusCode.NotFound, second.StatusCode);
        Assert.Equal("OpenConnect; hit; detail=not-found", HeaderOf(second));
    }

    [Fact]
    public async Task NoParentAnswering_IsAForwardThatFailed()
    {
        await using var h = await StartAsync();
        h.Parent.FailWithStatus = 500;
        using var client = new HttpClient { BaseAddress = h.BaseAddress };
        using var response = await client.GetAsync(Segment);
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("OpenConnect; fwd=uri-miss; detail=parent-failed", HeaderOf(response));
    }

    /// <summary>Waits until the RAM tier admitted <paramref name="count"/> objects (admission follows the last body byte).</summary>
    internal static async Task RamAdmissionsAsync(ApplianceHarness h, int count)
    {
        for (var i = 0; i < 100 && await h.MetricAsync("openconnect_appliance_admissions_total", ("tier", "ram")) < count; i++)
        {
            await Task.Delay(20);
        }
    }

    private static async Task<string> CacheStatusOfAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await response.Content.ReadAsByteArrayAsync();
        return HeaderOf(response);
    }

    private static string HeaderOf(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Cache-Status", out var values) ? string.Join(", ", values) : "(none)";
}
