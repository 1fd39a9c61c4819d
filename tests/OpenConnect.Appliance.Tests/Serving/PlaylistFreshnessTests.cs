using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Testing;

namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>
/// Playlists revalidate with the parent once their freshness runs out (a republish changes them);
/// segments stay immutable. A real appliance in front of a real parent that counts conditional requests.
/// </summary>
public class PlaylistFreshnessTests : TransportTests
{
    private const string Playlist = "/v/t9/720p/index.m3u8";
    private const string Segment = "/v/t9/720p/seg-00001.m4s";
    // Two seconds: long enough that "still fresh" steps hold on a loaded machine, short enough to wait out.
    private const string ShortTtl = "--Appliance:Cache:PlaylistTtl=00:00:02";
    private static readonly TimeSpan PastTtl = TimeSpan.FromMilliseconds(2300);

    private static byte[] Text(string s) => Encoding.ASCII.GetBytes(s);

    /// <summary>An appliance whose cache holds <paramref name="body"/> as <see cref="Playlist"/> (one parent request so far).</summary>
    private async Task<ApplianceHarness> StartWithCachedPlaylistAsync(byte[] body, params string[] settings)
    {
        var h = await StartAsync(settings);
        try
        {
            h.Parent.Put(Playlist, body);
            using var client = new HttpClient { BaseAddress = h.BaseAddress };
            Assert.Equal(body, await client.GetByteArrayAsync(Playlist));
            return h;
        }
        catch
        {
            await h.DisposeAsync();
            throw;
        }
    }

    [Fact]
    public async Task ChangedPlaylist_IsServedNewAfterTheTtl_AndFreshCopyBeforeIt()
    {
        await using var h = await StartAsync(ShortTtl);
        h.Parent.Put(Playlist, Text("#EXTM3U\n#v1\n"));
        using var client = new HttpClient { BaseAddress = h.BaseAddress };

        Assert.Equal("#EXTM3U\n#v1\n", await client.GetStringAsync(Playlist));
        h.Parent.Put(Playlist, Text("#EXTM3U\n#v2 republished\n"));
        // Still fresh: the cached copy, no parent request.
        Assert.Equal("#EXTM3U\n#v1\n", await client.GetStringAsync(Playlist));
        Assert.Equal(1, h.Parent.RequestsFor(Playlist));

        await Task.Delay(PastTtl);
        Assert.Equal("#EXTM3U\n#v2 republished\n", await client.GetStringAsync(Playlist));
        Assert.Equal(2, h.Parent.RequestsFor(Playlist));
        Assert.Equal(1, h.Parent.ConditionalRequestsFor(Playlist));

        // The new version is what the cache holds now.
        Assert.Equal("#EXTM3U\n#v2 republished\n", await client.GetStringAsync(Playlist));
        Assert.Equal(2, h.Parent.RequestsFor(Playlist));
    }

    [Fact]
    public async Task UnchangedPlaylist_RevalidatesWith304_AndServesTheCachedBody()
    {
        var body = Text("#EXTM3U\n#EXT-X-VERSION:7\n");
        await using var h = await StartWithCachedPlaylistAsync(body, ShortTtl);
        using var client = new HttpClient { BaseAddress = h.BaseAddress };

        await Task.Delay(PastTtl);
        using var response = await client.GetAsync(Playlist);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(1, h.Parent.ConditionalRequestsFor(Playlist));
        Assert.Equal(1, h.Parent.NotModifiedFor(Playlist));
        // Refreshed: fresh again for the TTL, so the next request asks nobody.
        Assert.Equal(body, await client.GetByteArrayAsync(Playlist));
        Assert.Equal(2, h.Parent.RequestsFor(Playlist));
        Assert.Equal(1.0, await h.MetricAsync("openconnect_appliance_upstream_bytes_total") / body.Length);
    }

    [Fact]
    public async Task Playlist_TellsPlayersTheFreshnessLeft_NeverImmutable()
    {
        await using var h = await StartAsync("--Appliance:Cache:PlaylistTtl=00:01:00");
        h.Parent.Put(Playlist, Text("#EXTM3U\n"));
        using var client = new HttpClient { BaseAddress = h.BaseAddress };

        foreach (var _ in new[] { "miss", "hit" })
        {
            using var response = await client.GetAsync(Playlist);
            var cacheControl = response.Headers.CacheControl!;
            Assert.True(cacheControl.Public);
            Assert.InRange(cacheControl.MaxAge!.Value, TimeSpan.FromSeconds(55), TimeSpan.FromSeconds(60));
            Assert.DoesNotContain("immutable", response.Headers.GetValues("Cache-Control").Single());
        }
    }

    [Fact]
    public async Task ParentMaxAge_GovernsFreshness_OverTheConfiguredTtl()
    {
        await using var h = await StartAsync("--Appliance:Cache:PlaylistTtl=01:00:00");
        h.Parent.CacheControl = "public, max-age=2";
        h.Parent.Put(Playlist, Text("#EXTM3U\n#v1\n"));
        using var client = new HttpClient { BaseAddress = h.BaseAddress };
        await client.GetStringAsync(Playlist);
        h.Parent.Put(Playlist, Text("#EXTM3U\n#v2\n"));

        await Task.Delay(PastTtl);
        Assert.Equal("#EXTM3U\n#v2\n", await client.GetStringAsync(Playlist));
        Assert.Equal(1, h.Parent.ConditionalRequestsFor(Playlist));
    }

    [Fact]
    public async Task Segments_AreNeverRevalidated()
    {
        await using var h = await StartAsync(ShortTtl);
        h.Parent.CacheControl = "public, max-age=2";
        var body = ApplianceHarness.RandomBytes(100_000, 3);
        h.Parent.Put(Segment, body);
        using var client = new HttpClient { BaseAddress = h.BaseAddress };
        Assert.Equal(body, await client.GetByteArrayAsync(Segment));
        h.Parent.Put(Segment, ApplianceHarness.RandomBytes(100_000, 4));

        await Task.Delay(PastTtl);
        using var response = await client.GetAsync(Segment);

        Assert.Equal(body, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal("public, max-age=31536000, immutable", response.Headers.GetValues("Cache-Control").Single());
        Assert.Equal(1, h.Parent.RequestsFor(Segment));
        Assert.Equal(0, h.Parent.ConditionalRequestsFor(Segment));
    }

    [Fact]
    public async Task StalePlaylist_ConcurrentRequests_ShareOneRevalidation()
    {
        var body = Text("#EXTM3U\n#shared\n");
        await using var h = await StartWithCachedPlaylistAsync(body, ShortTtl);
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 32 }) { BaseAddress = h.BaseAddress };

        await Task.Delay(PastTtl);
        h.Parent.HeadDelay = TimeSpan.FromMilliseconds(400);
        var responses = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => client.GetByteArrayAsync(Playlist)));

        Assert.All(responses, r => Assert.Equal(body, r));
        Assert.Equal(1, h.Parent.ConditionalRequestsFor(Playlist));
        Assert.Equal(2, h.Parent.RequestsFor(Playlist));
    }

    [Fact]
    public async Task ParentFailure_ServesTheStaleCopy_WithinTheBound_ThenTheError()
    {
        var body = Text("#EXTM3U\n#stale\n");
        await using var h = await StartWithCachedPlaylistAsync(body, ShortTtl, "--Appliance:Cache:StaleIfError=00:00:03");
        using var client = new HttpClient { BaseAddress = h.BaseAddress };

        h.Parent.FailWithStatus = 500;
        await Task.Delay(PastTtl);
        using (var stale = await client.GetAsync(Playlist))
        {
            Assert.Equal(HttpStatusCode.OK, stale.StatusCode);
            Assert.Equal(body, await stale.Content.ReadAsByteArrayAsync());
            Assert.Equal(TimeSpan.Zero, stale.Headers.CacheControl!.MaxAge);
        }

        // Past freshness + StaleIfError: the parent's failure is the answer.
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(HttpStatusCode.BadGateway, (await client.GetAsync(Playlist)).StatusCode);

        // The parent back: the copy revalidates (304) and is served again.
        h.Parent.FailWithStatus = null;
        Assert.Equal(body, await client.GetByteArrayAsync(Playlist));
    }

    [Fact]
    public async Task PlaylistRemovedAtTheParent_IsNotServedStale()
    {
        await using var h = await StartWithCachedPlaylistAsync(Text("#EXTM3U\n"), ShortTtl);
        using var client = new HttpClient { BaseAddress = h.BaseAddress };

        h.Parent.FailWithStatus = 404;
        await Task.Delay(PastTtl);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(Playlist)).StatusCode);
    }

    private static async Task<double> UpstreamBytesAsync(RunningRole appliance)
    {
        using var client = appliance.CreateManagementClient();
        return PrometheusText.Parse(await client.GetStringAsync("/metrics")).Value("openconnect_appliance_upstream_bytes_total") ?? 0;
    }

    [Fact]
    public async Task PlaylistReadBackFromSsd_AfterARestart_KeepsItsFreshness_AndRevalidates()
    {
        await using var parent = await TestParent.StartAsync();
        using var state = new TempDirectory("openconnect-freshness");
        var body = Text("#EXTM3U\n#on-ssd\n");
        parent.Put(Playlist, body);
        string[] settings =
        [
            $"--Appliance:Cache:Directory={state.Path}",
            "--Appliance:ControlUrl=https://127.0.0.1:0",
            ApplianceHarness.UnsignedLoopback,
            ApplianceHarness.AllowUnsignedContent,
            $"--Appliance:Parents:0={parent.BaseAddress}",
            ShortTtl,
            // LRU writes a fetched object to SSD at once (S3-FIFO waits for it to prove reuse).
            "--Appliance:Cache:Policy=lru",
        ];

        await using (var first = await RunningRole.StartAsync(ApplianceHost.Build, settings))
        {
            using var client = first.CreateClient();
            var cache = first.Services.GetRequiredService<OpenConnect.Appliance.Caching.SegmentCache>();
            for (var i = 0; i < 50 && !cache.HeldOnSsd(OpenConnect.Appliance.Caching.KeyHash.Of(Playlist)); i++)
            {
                Assert.Equal(body, await client.GetByteArrayAsync(Playlist));
                await Task.Delay(50);
            }

            Assert.True(cache.HeldOnSsd(OpenConnect.Appliance.Caching.KeyHash.Of(Playlist)), "the SSD tier never took the playlist");
        }

        var requests = parent.RequestsFor(Playlist);
        var conditional = parent.ConditionalRequestsFor(Playlist);
        await Task.Delay(PastTtl);
        await using var second = await RunningRole.StartAsync(ApplianceHost.Build, settings);
        using var again = second.CreateClient();

        // Read back from SSD past its TTL: revalidated (a 304, no body), then fresh again.
        Assert.Equal(body, await again.GetByteArrayAsync(Playlist));
        Assert.Equal(conditional + 1, parent.ConditionalRequestsFor(Playlist));
        Assert.Equal(parent.ConditionalRequestsFor(Playlist), parent.NotModifiedFor(Playlist));
        Assert.Equal(body, await again.GetByteArrayAsync(Playlist));
        Assert.Equal(requests + 1, parent.RequestsFor(Playlist));
        Assert.Equal(0, await UpstreamBytesAsync(second));
    }
}
