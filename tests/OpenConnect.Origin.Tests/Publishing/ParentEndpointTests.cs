using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Origin.Storage;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Publishing;

public sealed class ParentEndpointTests
{
    [Fact]
    public async Task PublishedObjects_AreServed_WithRangesAndTypes_AndUnpublishedOnesAre404()
    {
        using var dir = new TempDirectory();
        await using var origin = await RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={dir.Path}");
        var store = origin.Services.GetRequiredService<IObjectStore>();

        var staging = Path.Combine(dir.Path, "staging");
        Directory.CreateDirectory(Path.Combine(staging, "720p"));
        var segment = Enumerable.Range(0, 10_000).Select(i => (byte)i).ToArray();
        await File.WriteAllBytesAsync(Path.Combine(staging, "720p", "seg-00001.m4s"), segment);
        await File.WriteAllTextAsync(Path.Combine(staging, "master.m3u8"), "#EXTM3U\n");
        using var client = origin.CreateClient();

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v/t1/master.m3u8")).StatusCode);
        await store.PublishAsync("t1", staging, CancellationToken.None);
        Assert.False(Directory.Exists(staging));
        Assert.True(store.IsPublished("t1"));

        var master = await client.GetAsync("/v/t1/master.m3u8");
        Assert.Equal(HttpStatusCode.OK, master.StatusCode);
        Assert.Equal("application/vnd.apple.mpegurl", master.Content.Headers.ContentType?.MediaType);
        Assert.Equal("#EXTM3U\n", await master.Content.ReadAsStringAsync());

        using var ranged = new HttpRequestMessage(HttpMethod.Get, "/v/t1/720p/seg-00001.m4s");
        ranged.Headers.Range = new RangeHeaderValue(100, 199);
        var part = await client.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(segment[100..200], await part.Content.ReadAsByteArrayAsync());
        Assert.Equal(10_000, part.Content.Headers.ContentRange?.Length);
        Assert.NotNull(part.Headers.ETag);

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v/t1/720p/seg-00002.m4s")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v/t1/..%2F..%2Fkeys/origin-signing.key")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v/../keys/origin-signing.key")).StatusCode);

        Assert.True(store.Delete("t1"));
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v/t1/master.m3u8")).StatusCode);
    }

    [Fact]
    public async Task Playlists_AreRevalidatable_ASegmentIsImmutable_AndAConditionalRequestGets304WithTheFreshness()
    {
        using var dir = new TempDirectory();
        await using var origin = await RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={dir.Path}");
        var staging = Path.Combine(dir.Path, "staging");
        Directory.CreateDirectory(Path.Combine(staging, "720p"));
        await File.WriteAllBytesAsync(Path.Combine(staging, "720p", "seg-00001.m4s"), new byte[100]);
        await File.WriteAllTextAsync(Path.Combine(staging, "master.m3u8"), "#EXTM3U\n");
        await origin.Services.GetRequiredService<IObjectStore>().PublishAsync("t1", staging, CancellationToken.None);
        using var client = origin.CreateClient();

        using var playlist = await client.GetAsync("/v/t1/master.m3u8");
        Assert.Equal("public, max-age=10", playlist.Headers.CacheControl?.ToString());
        Assert.NotNull(playlist.Headers.ETag);
        Assert.NotNull(playlist.Content.Headers.LastModified);

        using var conditional = new HttpRequestMessage(HttpMethod.Get, "/v/t1/master.m3u8");
        conditional.Headers.IfNoneMatch.Add(playlist.Headers.ETag!);
        using var notModified = await client.SendAsync(conditional);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());
        Assert.Equal("public, max-age=10", notModified.Headers.CacheControl?.ToString());
        Assert.Equal(playlist.Headers.ETag, notModified.Headers.ETag);

        using var segment = await client.GetAsync("/v/t1/720p/seg-00001.m4s");
        Assert.Equal("public, max-age=31536000, immutable", segment.Headers.GetValues("Cache-Control").Single());
    }
}
