using OpenConnect.Contracts.Content;
using OpenConnect.Origin.Storage;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Storage;

/// <summary>
/// What every <see cref="IObjectStore"/> promises, run against each implementation by a subclass:
/// publish, open, ranges, replace while reading (a reader sees the old content or the new, never a
/// mix), delete, missing objects and bad keys.
/// </summary>
public abstract class ObjectStoreContract : IDisposable
{
    private static readonly ContentKey Master = ContentKey.ForTitleFile("t1", "master.m3u8");
    private static readonly ContentKey Segment = ContentKey.ForRenditionFile("t1", "720p", "seg-00001.m4s");

    protected TempDirectory Directory { get; } = new("oc-store-contract");

    /// <summary>
    /// False for a store whose replace has a moment when the title is absent (the local store moves
    /// the old directory aside, then the new one in): a reader may then find nothing, but still never a mix.
    /// </summary>
    protected virtual bool ReplaceIsGapless => true;

    /// <summary>A new, empty store.</summary>
    protected abstract IObjectStore CreateStore();

    protected string Stage(params (string Name, byte[] Content)[] files) => StoreFiles.Stage(Directory.Path, files);

    [Fact]
    public async Task Published_Package_IsOpened_WithItsLength_AndEveryFileIsServableByKey()
    {
        var store = CreateStore();
        var segment = StoreFiles.Pattern(100_000, 1);
        var staging = Stage(("master.m3u8", "#EXTM3U\n"u8.ToArray()), ("720p/seg-00001.m4s", segment));
        Assert.False(await store.IsPublishedAsync("t1", CancellationToken.None));

        await store.PublishAsync("t1", staging, CancellationToken.None);

        Assert.False(System.IO.Directory.Exists(staging));
        Assert.True(await store.IsPublishedAsync("t1", CancellationToken.None));
        Assert.True(store.IsPublished("t1"));
        var master = await store.OpenAsync(Master, CancellationToken.None);
        Assert.NotNull(master);
        Assert.Equal(8, master.Length);
        Assert.Equal("#EXTM3U\n"u8.ToArray(), await StoreFiles.ReadAllAsync(master));
        var opened = await store.OpenAsync(Segment, CancellationToken.None);
        Assert.NotNull(opened);
        Assert.True(opened.Content.CanSeek);
        Assert.Equal(segment.Length, opened.Content.Length);
        Assert.InRange(opened.LastModified, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Equal(segment, await StoreFiles.ReadAllAsync(opened));
        var synchronous = store.Open(Segment);
        Assert.NotNull(synchronous);
        Assert.Equal(segment, await StoreFiles.ReadAllAsync(synchronous));
    }

    [Fact]
    public async Task Ranges_AreReadBySeeking_AnywhereInTheObject()
    {
        var store = CreateStore();
        var segment = StoreFiles.Pattern(300_000, 2);
        await store.PublishAsync("t1", Stage(("720p/seg-00001.m4s", segment)), CancellationToken.None);

        await using var content = (await store.OpenAsync(Segment, CancellationToken.None))!.Content;
        foreach (var (from, length) in new[] { (250_000, 1000), (10, 90), (0, 5), (299_990, 10), (150_000, 100_000) })
        {
            content.Seek(from, SeekOrigin.Begin);
            var buffer = new byte[length];
            await content.ReadExactlyAsync(buffer);
            Assert.Equal(segment[from..(from + length)], buffer);
            Assert.Equal(from + length, content.Position);
        }

        content.Position = segment.Length;
        Assert.Equal(0, await content.ReadAsync(new byte[10]));
    }

    [Fact]
    public async Task MissingTitles_Files_AndBadKeys_AreAbsent_NotErrors()
    {
        var store = CreateStore();
        Assert.Null(await store.OpenAsync(Master, CancellationToken.None));
        Assert.Null(store.Open(Master));
        await store.PublishAsync("t1", Stage(("master.m3u8", [1, 2, 3])), CancellationToken.None);

        Assert.Null(await store.OpenAsync(Segment, CancellationToken.None));
        Assert.Null(await store.OpenAsync(ContentKey.ForTitleFile("t2", "master.m3u8"), CancellationToken.None));
        Assert.Null(await store.OpenAsync(ContentKey.ForTitleFile("t", "master.m3u8"), CancellationToken.None));
        Assert.False(await store.IsPublishedAsync("t2", CancellationToken.None));
        foreach (var bad in new[] { "", "..", "../t1", "t1/720p", "t 1", "t1\0" })
        {
            Assert.False(await store.IsPublishedAsync(bad, CancellationToken.None));
            Assert.False(await store.DeleteAsync(bad, CancellationToken.None));
        }

        Assert.True(await store.IsPublishedAsync("t1", CancellationToken.None));
    }

    [Fact]
    public async Task Publish_RefusesABadTitleId_AndAMissingStagingDirectory()
    {
        var store = CreateStore();
        var staging = Stage(("master.m3u8", [1]));

        await Assert.ThrowsAsync<ArgumentException>(() => store.PublishAsync("../escape", staging, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => store.PublishAsync("", staging, CancellationToken.None));
        await Assert.ThrowsAsync<DirectoryNotFoundException>(() => store.PublishAsync("t1", Directory.Combine("nowhere"), CancellationToken.None));
        Assert.True(System.IO.Directory.Exists(staging));
        Assert.False(await store.IsPublishedAsync("t1", CancellationToken.None));
    }

    [Fact]
    public async Task Replace_WhileReading_TheOpenReaderFinishesOnTheOldContent_AndNewOpensSeeTheNew()
    {
        var store = CreateStore();
        var (old, replacement) = (StoreFiles.Pattern(200_000, 3), StoreFiles.Pattern(150_000, 4));
        await store.PublishAsync("t1", Stage(("720p/seg-00001.m4s", old), ("master.m3u8", [1])), CancellationToken.None);

        var reading = (await store.OpenAsync(Segment, CancellationToken.None))!;
        var half = new byte[100_000];
        await reading.Content.ReadExactlyAsync(half);
        var unread = await store.OpenAsync(Segment, CancellationToken.None);
        await store.PublishAsync("t1", Stage(("720p/seg-00001.m4s", replacement), ("master.m3u8", [2])), CancellationToken.None);

        var rest = new byte[100_000];
        await reading.Content.ReadExactlyAsync(rest);
        Assert.Equal(0, await reading.Content.ReadAsync(new byte[1]));
        await reading.Content.DisposeAsync();
        Assert.Equal(old, half.Concat(rest).ToArray());
        // Opened before the publish, read after it: still the old content, all of it.
        Assert.Equal(old, await StoreFiles.ReadAllAsync(unread!));

        var fresh = (await store.OpenAsync(Segment, CancellationToken.None))!;
        Assert.Equal(replacement.Length, fresh.Length);
        Assert.Equal(replacement, await StoreFiles.ReadAllAsync(fresh));
        Assert.Equal([2], await StoreFiles.ReadAllAsync((await store.OpenAsync(Master, CancellationToken.None))!));
    }

    [Fact]
    public async Task Readers_DuringRepeatedPublishes_AlwaysGetOneWholeVersion()
    {
        var store = CreateStore();
        var versions = Enumerable.Range(0, 4).Select(v => StoreFiles.Pattern(64_000 + (v * 1000), 10 + v)).ToArray();
        await store.PublishAsync("t1", Stage(("720p/seg-00001.m4s", versions[0])), CancellationToken.None);

        using var done = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            var reads = 0;
            while (!done.IsCancellationRequested || reads == 0)
            {
                var stored = await store.OpenAsync(Segment, CancellationToken.None);
                if (stored is null)
                {
                    Assert.False(ReplaceIsGapless, "the title was absent while it was being replaced");
                    continue;
                }

                var bytes = await StoreFiles.ReadAllAsync(stored);
                Assert.Equal(stored.Length, bytes.Length);
                Assert.Contains(versions, v => v.AsSpan().SequenceEqual(bytes));
                reads++;
            }

            return reads;
        })).ToArray();
        foreach (var version in versions.Skip(1))
        {
            await store.PublishAsync("t1", Stage(("720p/seg-00001.m4s", version)), CancellationToken.None);
        }

        await done.CancelAsync();
        Assert.All(await Task.WhenAll(readers), reads => Assert.True(reads > 0));
        Assert.Equal(versions[^1], await StoreFiles.ReadAllAsync((await store.OpenAsync(Segment, CancellationToken.None))!));
    }

    [Fact]
    public async Task Delete_RemovesTheTitle_OnlyThatTitle_AndASecondDeleteFindsNothing()
    {
        var store = CreateStore();
        await store.PublishAsync("t1", Stage(("master.m3u8", [1]), ("720p/seg-00001.m4s", [2])), CancellationToken.None);
        await store.PublishAsync("t12", Stage(("master.m3u8", [3])), CancellationToken.None);

        Assert.True(await store.DeleteAsync("t1", CancellationToken.None));

        Assert.False(await store.IsPublishedAsync("t1", CancellationToken.None));
        Assert.Null(await store.OpenAsync(Master, CancellationToken.None));
        Assert.Null(await store.OpenAsync(Segment, CancellationToken.None));
        Assert.False(await store.DeleteAsync("t1", CancellationToken.None));
        Assert.False(store.Delete("t1"));
        Assert.Equal([3], await StoreFiles.ReadAllAsync((await store.OpenAsync(ContentKey.ForTitleFile("t12", "master.m3u8"), CancellationToken.None))!));

        // A deleted title can be published again.
        await store.PublishAsync("t1", Stage(("master.m3u8", [4])), CancellationToken.None);
        Assert.Equal([4], await StoreFiles.ReadAllAsync((await store.OpenAsync(Master, CancellationToken.None))!));
        Assert.True(store.Delete("t1"));
    }

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            Directory.Dispose();
        }
    }
}
