using System.Net;

namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>A flood of misses for objects nobody is fetching yet is capped, per title and overall, with a clear 503.</summary>
public class MissLimitTests : TransportTests
{
    [Fact]
    public async Task AFloodOfUniqueMissingNames_InOneTitle_ReachesTheParentOnlyUpToTheCap_AndOtherTitlesStillServe()
    {
        await using var h = await StartAsync(
            "--Appliance:Upstream:MaxConcurrentFetchesPerTitle=4",
            "--Appliance:Upstream:MaxConcurrentFetches=16");
        var body = ApplianceHarness.RandomBytes(20_000, 41);
        h.Parent.Put("/v/other/720p/seg-1.m4s", body);
        h.Parent.HeadDelay = TimeSpan.FromMilliseconds(1500);

        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = h.BaseAddress };
        var paths = Enumerable.Range(0, 20).Select(i => $"/v/flood/720p/missing-{i}.m4s").ToList();
        var flood = paths.Select(p => client.GetAsync(p)).ToList();

        // Another title has its own places: it is fetched and served while the flood's are taken.
        using (var other = await client.GetAsync("/v/other/720p/seg-1.m4s"))
        {
            Assert.Equal(HttpStatusCode.OK, other.StatusCode);
            Assert.Equal(body, await other.Content.ReadAsByteArrayAsync());
        }

        var responses = await Task.WhenAll(flood);
        Assert.Equal(4, responses.Count(r => r.StatusCode == HttpStatusCode.NotFound));
        var refused = responses.Where(r => r.StatusCode == HttpStatusCode.ServiceUnavailable).ToList();
        Assert.Equal(16, refused.Count);
        Assert.Contains("too many objects being fetched", await refused[0].Content.ReadAsStringAsync());
        Assert.True(refused[0].Headers.RetryAfter is not null, "a refused miss carries Retry-After");
        Assert.Equal("OpenConnect; detail=fetch-limit", refused[0].Headers.GetValues("Cache-Status").Single());
        Assert.Equal(4, paths.Sum(h.Parent.RequestsFor));
        Assert.Equal(16, await h.MetricAsync("openconnect_appliance_fetches_refused_total"));

        // The places are given back when the fetches end.
        h.Parent.HeadDelay = TimeSpan.Zero;
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v/flood/720p/missing-19.m4s")).StatusCode);
    }

    [Fact]
    public async Task TheOverallCap_RefusesNewFetchesAcrossTitles_ButRequestsForAFetchUnderWayStillJoinIt()
    {
        await using var h = await StartAsync(
            "--Appliance:Upstream:MaxConcurrentFetchesPerTitle=2",
            "--Appliance:Upstream:MaxConcurrentFetches=2");
        var body = ApplianceHarness.RandomBytes(30_000, 42);
        h.Parent.Put("/v/a/720p/seg-1.m4s", body);
        h.Parent.Put("/v/b/720p/seg-1.m4s", body);
        h.Parent.Put("/v/c/720p/seg-1.m4s", body);
        h.Parent.HeadDelay = TimeSpan.FromMilliseconds(1500);

        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = h.BaseAddress };
        var a = client.GetAsync("/v/a/720p/seg-1.m4s");
        var b = client.GetAsync("/v/b/720p/seg-1.m4s");
        await WaitForAsync(() => h.Parent.RequestsFor("/v/a/720p/seg-1.m4s") + h.Parent.RequestsFor("/v/b/720p/seg-1.m4s") == 2);

        using var c = await client.GetAsync("/v/c/720p/seg-1.m4s");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, c.StatusCode);

        var joined = await client.GetAsync("/v/a/720p/seg-1.m4s");
        Assert.Equal(HttpStatusCode.OK, joined.StatusCode);
        Assert.Equal(body, await joined.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.OK, (await a).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await b).StatusCode);
        Assert.Equal(1, h.Parent.RequestsFor("/v/a/720p/seg-1.m4s"));
        Assert.Equal(0, h.Parent.RequestsFor("/v/c/720p/seg-1.m4s"));
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 100 && !condition(); i++)
        {
            await Task.Delay(20);
        }

        Assert.True(condition(), "the condition did not hold within 2 s");
    }
}
