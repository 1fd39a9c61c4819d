using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Amazon.S3.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Content;
using OpenConnect.Origin.Storage;
using OpenConnect.Origin.Tests.Ingest;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Storage;

/// <summary>The origin with its published titles in s3rver: the parent endpoint serves them with ranges and validators, and a real upload goes through the pipeline into the bucket.</summary>
public sealed class S3OriginTests(S3rverFixture s3) : IClassFixture<S3rverFixture>
{
    [Fact]
    public async Task ParentEndpoint_ServesFromTheBucket_WithRanges_Validators_AndHead()
    {
        using var dir = new TempDirectory("oc-s3-origin");
        var prefix = "parent-" + Guid.NewGuid().ToString("N");
        var requests = new S3Requests();
        await using var origin = await RunningRole.StartAsync(
            args => OriginHost.Build(args, services => services.AddSingleton<IObjectStore>(sp =>
            {
                // The store the settings describe, with its requests recorded.
                var options = sp.GetRequiredService<IOptions<OriginOptions>>().Value.Storage.S3;
                return new S3ObjectStore(ObjectStoreRegistration.CreateClient(options, requests), options, TimeProvider.System, NullLogger<S3ObjectStore>.Instance);
            })),
            [$"--Origin:DataDirectory={dir.Path}", .. s3.Server.OriginSettings(S3rverFixture.Bucket, $"--Origin:Storage:S3:Prefix={prefix}")]);
        var staging = dir.Combine("staging");
        Directory.CreateDirectory(Path.Combine(staging, "720p"));
        var segment = Enumerable.Range(0, 100_000).Select(i => (byte)(i * 13)).ToArray();
        await File.WriteAllBytesAsync(Path.Combine(staging, "720p", "seg-00001.m4s"), segment);
        await File.WriteAllTextAsync(Path.Combine(staging, "master.m3u8"), "#EXTM3U\n");
        await File.WriteAllBytesAsync(Path.Combine(staging, "poster.jpg"), [0xff, 0xd8, 0xff]);
        using var client = origin.CreateClient();
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v/t1/master.m3u8")).StatusCode);

        await origin.Services.GetRequiredService<IObjectStore>().PublishAsync("t1", staging, CancellationToken.None);

        Assert.False(Directory.Exists(Path.Combine(dir.Path, "published", "t1")));
        using var master = await client.GetAsync("/v/t1/master.m3u8");
        Assert.Equal(HttpStatusCode.OK, master.StatusCode);
        Assert.Equal("application/vnd.apple.mpegurl", master.Content.Headers.ContentType?.MediaType);
        Assert.Equal("#EXTM3U\n", await master.Content.ReadAsStringAsync());
        Assert.NotNull(master.Content.Headers.LastModified);

        requests.Clear();
        using var ranged = new HttpRequestMessage(HttpMethod.Get, "/v/t1/720p/seg-00001.m4s");
        ranged.Headers.Range = new RangeHeaderValue(60_000, 60_999);
        using var part = await client.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(segment[60_000..61_000], await part.Content.ReadAsByteArrayAsync());
        Assert.Equal(100_000, part.Content.Headers.ContentRange?.Length);
        // One GET for exactly the range asked (the pointer and index are cached from the publish).
        Assert.EndsWith("/720p/seg-00001.m4s bytes=60000-60999", Assert.Single(requests.Sent), StringComparison.Ordinal);

        using var suffix = new HttpRequestMessage(HttpMethod.Get, "/v/t1/720p/seg-00001.m4s");
        suffix.Headers.Range = new RangeHeaderValue(null, 500);
        using var last = await client.SendAsync(suffix);
        Assert.Equal(segment[^500..], await last.Content.ReadAsByteArrayAsync());

        requests.Clear();
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v/t1/720p/seg-00001.m4s"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(100_000, head.Content.Headers.ContentLength);
        Assert.Empty(requests.Sent);

        using var conditional = new HttpRequestMessage(HttpMethod.Get, "/v/t1/master.m3u8");
        conditional.Headers.IfNoneMatch.Add(master.Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, (await client.SendAsync(conditional)).StatusCode);
        Assert.Equal([0xff, 0xd8, 0xff], await client.GetByteArrayAsync("/posters/t1.jpg"));
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v/t1/720p/seg-00002.m4s")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v/t1/..%2F..%2Fcurrent")).StatusCode);
    }

    [Fact]
    public async Task ARealUpload_IsPublishedIntoTheBucket_AndServedByteIdentical_ThenDeletedFromIt()
    {
        using var dir = new TempDirectory("oc-s3-e2e");
        var options = s3.Options();
        await using var origin = await Uploaders.StartWithTokensAsync(dir.Path, intake: null, time: null,
            [.. s3.Server.OriginSettings(S3rverFixture.Bucket, $"--Origin:Storage:S3:Prefix={options.Prefix}"), "--Origin:Pipeline:SegmentSeconds=2"]);
        using var client = origin.CreateClient();
        var (token, _) = await Uploaders.UploaderAsync(client, "studio");
        var source = await File.ReadAllBytesAsync(await SampleMedia.GetAsync(SampleMedia.Mp4Small));
        var upload = await Uploaders.CreateAsync(client, token, source.Length);
        using (var patch = await Ingest.Ingest.PatchAsync(client, upload, 0, source))
        {
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        }

        using var head = Ingest.Ingest.Tus(HttpMethod.Head, upload);
        var titleId = (await client.SendAsync(head)).Headers.GetValues("Upload-Title-Id").Single();
        var deadline = DateTime.UtcNow.AddSeconds(180);
        string? status = null;
        while (status != "published" && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
            using var title = await client.GetAsync($"/api/v1/titles/{titleId}");
            status = title.StatusCode == HttpStatusCode.OK ? JsonDocument.Parse(await title.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString() : null;
            Assert.NotEqual("failed", status);
        }

        Assert.Equal("published", status);
        using var integrity = await client.GetAsync($"/v/{titleId}/integrity.json");
        Assert.Equal(HttpStatusCode.OK, integrity.StatusCode);
        var manifest = IntegrityManifest.Parse(await integrity.Content.ReadAsByteArrayAsync());
        Assert.Contains("master.m3u8", manifest.Files.Keys);
        Assert.Contains(manifest.Files.Keys, f => f.EndsWith(".m4s", StringComparison.Ordinal));
        foreach (var (file, entry) in manifest.Files)
        {
            var body = await client.GetByteArrayAsync($"/v/{titleId}/{file}");
            Assert.Equal(entry.Size, body.Length);
            Assert.Equal(entry.Sha256, Convert.ToHexStringLower(SHA256.HashData(body)));
        }

        // Nothing was published to local files; the bucket holds the package under the title.
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "published", titleId)));
        using var s3Client = ObjectStoreRegistration.CreateClient(options);
        var listed = await s3Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = S3rverFixture.Bucket, Prefix = $"{options.KeyPrefix}published/{titleId}/" });
        Assert.Equal(manifest.Files.Count + 3, listed.S3Objects.Count); // + integrity.json, the version index and the pointer

        // An admin's delete goes through the store: the pointer, then every object.
        using var delete = new HttpRequestMessage(HttpMethod.Delete, $"/api/v1/titles/{titleId}");
        delete.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await Uploaders.AdminTokenAsync(client));
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(delete)).StatusCode);
        listed = await s3Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = S3rverFixture.Bucket, Prefix = $"{options.KeyPrefix}published/{titleId}/" });
        Assert.Empty(listed.S3Objects ?? []);
    }
}
