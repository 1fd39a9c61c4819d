using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using OpenConnect.Contracts.Content;
using OpenConnect.Origin.Storage;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Storage;

/// <summary>What the S3 store does beyond the contract: its layout, ranged GETs, multipart uploads, two instances on one bucket, retention and integrity.</summary>
public sealed class S3ObjectStoreTests(S3rverFixture s3) : IClassFixture<S3rverFixture>, IDisposable
{
    private static readonly ContentKey Segment = ContentKey.ForRenditionFile("t1", "720p", "seg-00001.m4s");
    private readonly TempDirectory _directory = new("oc-s3-store");

    private string Stage(params (string Name, byte[] Content)[] files) => StoreFiles.Stage(_directory.Path, files);

    private static async Task<List<string>> KeysAsync(IAmazonS3 client, string prefix)
    {
        var response = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = S3rverFixture.Bucket, Prefix = prefix });
        return [.. (response.S3Objects ?? []).Select(o => o.Key[prefix.Length..]).Order(StringComparer.Ordinal)];
    }

    [Fact]
    public async Task Publish_WritesTheVersionThenItsIndexThenThePointer_AndUploadsOnlyServableFiles()
    {
        var requests = new S3Requests();
        var options = s3.Options();
        var store = s3.Store(options, client: ObjectStoreRegistration.CreateClient(options, requests));
        await store.PublishAsync("t1", Stage(("master.m3u8", [1]), ("720p/seg-00001.m4s", [2, 3]), ("720p/deeper/x.m4s", [4]), ("UPPER/seg.m4s", [5]), ("notes.txt~", [6])), CancellationToken.None);

        using var client = ObjectStoreRegistration.CreateClient(options);
        var keys = await KeysAsync(client, options.KeyPrefix + "published/t1/");
        var version = Assert.Single(keys, k => k.EndsWith("/.index.json", StringComparison.Ordinal))[..^"/.index.json".Length];
        Assert.True(PublishedVersion.IsValidId(version), version);
        Assert.Equal([$"{version}/.index.json", $"{version}/720p/seg-00001.m4s", $"{version}/master.m3u8", "current"], keys);

        var puts = requests.Sent.Where(r => r.StartsWith("PUT ", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, puts.Count);
        Assert.EndsWith("/.index.json", puts[^2], StringComparison.Ordinal);
        Assert.EndsWith("/published/t1/current", puts[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reads_AreRangedGets_FromTheFirstWantedByte_AndOpeningAloneSendsNothing()
    {
        var requests = new S3Requests();
        var options = s3.Options();
        var store = s3.Store(options, client: ObjectStoreRegistration.CreateClient(options, requests));
        var segment = StoreFiles.Pattern(50_000, 1);
        await store.PublishAsync("t1", Stage(("720p/seg-00001.m4s", segment)), CancellationToken.None);
        requests.Clear();

        // Opened (the index is cached from the publish): length and date known, no request yet, as for HEAD or 304.
        var stored = await store.OpenAsync(Segment, CancellationToken.None);
        Assert.NotNull(stored);
        Assert.Equal(50_000, stored.Length);
        Assert.Empty(requests.Sent);

        await using (var content = stored.Content)
        {
            content.Seek(40_000, SeekOrigin.Begin);
            var tail = new byte[10_000];
            await content.ReadExactlyAsync(tail);
            Assert.Equal(segment[40_000..], tail);
        }

        var get = Assert.Single(requests.Sent);
        Assert.StartsWith("GET ", get, StringComparison.Ordinal);
        Assert.EndsWith("/720p/seg-00001.m4s bytes=40000-49999", get, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LargeFiles_AreUploadedInParts_AndServedWhole_AndAcrossPartBoundaries()
    {
        var requests = new S3Requests();
        var options = s3.Options();
        options.PartSizeBytes = 5 << 20;
        options.MultipartThresholdBytes = 5 << 20;
        var store = s3.Store(options, client: ObjectStoreRegistration.CreateClient(options, requests));
        var large = StoreFiles.Pattern((12 << 20) + 123, 5);

        await store.PublishAsync("t1", Stage(("720p/seg-00001.m4s", large), ("master.m3u8", [1])), CancellationToken.None);

        var parts = requests.Sent.Where(r => r.StartsWith("PUT ", StringComparison.Ordinal) && r.Contains("partNumber=", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, parts.Count);
        Assert.Equal(large, await StoreFiles.ReadAllAsync(await store.OpenAsync(Segment, CancellationToken.None)));
        await using var content = (await store.OpenAsync(Segment, CancellationToken.None))!.Content;
        content.Seek((5 << 20) - 100, SeekOrigin.Begin);
        var across = new byte[200];
        await content.ReadExactlyAsync(across);
        Assert.Equal(large[((5 << 20) - 100)..((5 << 20) + 100)], across);
    }

    [Fact]
    public async Task AFailedUpload_LeavesThePreviousVersionCurrent_AndNothingOfTheNewOne()
    {
        var requests = new S3Requests();
        var options = s3.Options();
        var store = s3.Store(options, client: ObjectStoreRegistration.CreateClient(options, requests));
        var old = StoreFiles.Pattern(10_000, 1);
        await store.PublishAsync("t1", Stage(("720p/seg-00001.m4s", old), ("720p/seg-00002.m4s", old)), CancellationToken.None);
        using var client = ObjectStoreRegistration.CreateClient(options);
        var before = await KeysAsync(client, options.KeyPrefix);

        requests.FailPathEnding = "/seg-00002.m4s";
        var staging = Stage(("720p/seg-00001.m4s", StoreFiles.Pattern(10_000, 2)), ("720p/seg-00002.m4s", StoreFiles.Pattern(10_000, 3)));
        var failure = await Assert.ThrowsAsync<AmazonS3Exception>(() => store.PublishAsync("t1", staging, CancellationToken.None));
        Assert.Equal("AccessDenied", failure.ErrorCode);

        Assert.True(Directory.Exists(staging));
        Assert.Equal(before, await KeysAsync(client, options.KeyPrefix));
        Assert.Equal(old, await StoreFiles.ReadAllAsync(await store.OpenAsync(Segment, CancellationToken.None)));
        // Another instance (nothing cached) resolves the old version too.
        Assert.Equal(old, await StoreFiles.ReadAllAsync(await s3.Store(options).OpenAsync(Segment, CancellationToken.None)));
    }

    [Fact]
    public async Task AnotherInstance_SeesAPublishWithinThePointerCacheTime_AndFinishesOnTheVersionItResolved()
    {
        var options = s3.Options();
        options.PointerCacheTime = TimeSpan.FromSeconds(2);
        options.ReplacedRetention = TimeSpan.FromSeconds(30);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var publisher = s3.Store(options, time);
        var reader = s3.Store(options, time);
        var (first, second) = (StoreFiles.Pattern(20_000, 1), StoreFiles.Pattern(30_000, 2));
        await publisher.PublishAsync("t1", Stage(("720p/seg-00001.m4s", first)), CancellationToken.None);
        Assert.Equal(first, await StoreFiles.ReadAllAsync(await reader.OpenAsync(Segment, CancellationToken.None)));

        await publisher.PublishAsync("t1", Stage(("720p/seg-00001.m4s", second)), CancellationToken.None);

        // The reader's cached pointer still names the first version, which is kept for ReplacedRetention.
        Assert.Equal(first, await StoreFiles.ReadAllAsync(await reader.OpenAsync(Segment, CancellationToken.None)));
        Assert.Equal(second, await StoreFiles.ReadAllAsync(await publisher.OpenAsync(Segment, CancellationToken.None)));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(second, await StoreFiles.ReadAllAsync(await reader.OpenAsync(Segment, CancellationToken.None)));

        // A delete through one instance: the other finds the title gone once its cache expires.
        Assert.True(await publisher.DeleteAsync("t1", CancellationToken.None));
        Assert.True(await reader.IsPublishedAsync("t1", CancellationToken.None));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.False(await reader.IsPublishedAsync("t1", CancellationToken.None));
        Assert.Null(await reader.OpenAsync(Segment, CancellationToken.None));
    }

    [Fact]
    public async Task TheReplacedVersion_IsDeletedAfterTheRetention_AndAnAbandonedOneWithIt()
    {
        var options = s3.Options();
        options.ReplacedRetention = TimeSpan.FromSeconds(30);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var store = s3.Store(options, time);
        using var client = ObjectStoreRegistration.CreateClient(options);
        var title = options.KeyPrefix + "published/t1/";
        // Left by a publish that died two hours ago before writing its index or pointer.
        var abandoned = PublishedVersion.NewId(time.GetUtcNow() - TimeSpan.FromHours(2));
        var recent = PublishedVersion.NewId(time.GetUtcNow() - TimeSpan.FromMinutes(5));
        foreach (var version in new[] { abandoned, recent })
        {
            await client.PutObjectAsync(new PutObjectRequest { BucketName = S3rverFixture.Bucket, Key = $"{title}{version}/master.m3u8", ContentBody = "#EXTM3U", UseChunkEncoding = false });
        }

        await store.PublishAsync("t1", Stage(("master.m3u8", [1])), CancellationToken.None);
        var first = (await KeysAsync(client, title)).Single(k => k.EndsWith("/.index.json", StringComparison.Ordinal)).Split('/')[0];
        await store.PublishAsync("t1", Stage(("master.m3u8", [2])), CancellationToken.None);
        var versions = (await KeysAsync(client, title)).Select(k => k.Split('/')[0]).Distinct().ToList();
        Assert.Equal(5, versions.Count); // current, the two published, the abandoned and the recent one

        time.Advance(TimeSpan.FromSeconds(31));
        var deadline = DateTime.UtcNow.AddSeconds(20);
        List<string> left, markers;
        do
        {
            // The versions go first, then their markers.
            await Task.Delay(50);
            left = [.. (await KeysAsync(client, title)).Select(k => k.Split('/')[0]).Distinct()];
            markers = await KeysAsync(client, options.KeyPrefix + "retired/");
        }
        while ((left.Count > 3 || markers.Count > 0) && DateTime.UtcNow < deadline);

        Assert.DoesNotContain(first, left);
        Assert.DoesNotContain(abandoned, left);
        // A version younger than an hour may be another instance's upload in progress: kept.
        Assert.Contains(recent, left);
        Assert.Contains("current", left);
        Assert.Equal([2], await StoreFiles.ReadAllAsync(await store.OpenAsync(ContentKey.ForTitleFile("t1", "master.m3u8"), CancellationToken.None)));
        Assert.Empty(markers);
    }

    [Fact]
    public async Task ADeletionCutShortByAStop_IsFinishedByTheNextStart()
    {
        var options = s3.Options();
        options.ReplacedRetention = TimeSpan.FromSeconds(30);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var title = options.KeyPrefix + "published/t1/";
        using var client = ObjectStoreRegistration.CreateClient(options);
        using (var stopped = new S3ObjectStore(ObjectStoreRegistration.CreateClient(options), options, time, NullLogger<S3ObjectStore>.Instance))
        {
            await stopped.PublishAsync("t1", Stage(("master.m3u8", [1])), CancellationToken.None);
            await stopped.PublishAsync("t1", Stage(("master.m3u8", [2])), CancellationToken.None);
        }

        // Both versions are there, and a marker names the replaced one.
        var versions = (await KeysAsync(client, title)).Select(k => k.Split('/')[0]).Where(PublishedVersion.IsValidId).Distinct().ToList();
        Assert.Equal(2, versions.Count);
        var first = Assert.Single(await KeysAsync(client, options.KeyPrefix + "retired/"))["t1/".Length..];
        Assert.Contains(first, versions);

        var restarted = s3.Store(options, time);
        await restarted.ResumeRetirementsAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(35));
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await KeysAsync(client, options.KeyPrefix + "retired/")).Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Empty(await KeysAsync(client, options.KeyPrefix + "retired/"));
        Assert.DoesNotContain(await KeysAsync(client, title), k => k.StartsWith(first, StringComparison.Ordinal));
        Assert.Equal([2], await StoreFiles.ReadAllAsync(await restarted.OpenAsync(ContentKey.ForTitleFile("t1", "master.m3u8"), CancellationToken.None)));
    }

    [Fact]
    public async Task AnObjectThatNoLongerMatchesItsIndex_IsAnError_NeverServedShort()
    {
        var options = s3.Options();
        var store = s3.Store(options);
        var segment = StoreFiles.Pattern(40_000, 9);
        await store.PublishAsync("t1", Stage(("720p/seg-00001.m4s", segment)), CancellationToken.None);
        using var client = ObjectStoreRegistration.CreateClient(options);
        var key = options.KeyPrefix + "published/t1/" + (await KeysAsync(client, options.KeyPrefix + "published/t1/")).Single(k => k.EndsWith("seg-00001.m4s", StringComparison.Ordinal));
        await client.PutObjectAsync(new PutObjectRequest { BucketName = S3rverFixture.Bucket, Key = key, InputStream = new MemoryStream(segment[..1000]), UseChunkEncoding = false });

        var stored = await store.OpenAsync(Segment, CancellationToken.None);
        Assert.NotNull(stored);
        var error = await Assert.ThrowsAsync<IOException>(() => StoreFiles.ReadAllAsync(stored));
        Assert.Contains("answered 1000 bytes for bytes 0-39999; the version's index expects 40000", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _directory.Dispose();
}
