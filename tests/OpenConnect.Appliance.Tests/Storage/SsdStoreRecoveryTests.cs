using Microsoft.Extensions.Time.Testing;

namespace OpenConnect.Appliance.Tests.Storage;

public sealed class SsdStoreRecoveryTests : IDisposable
{
    private readonly StoreFixture _fixture = new();
    private readonly StoreFixture _crashImage = new();

    [Fact]
    public async Task Restart_after_a_clean_dispose_keeps_every_object()
    {
        var bodies = new Dictionary<string, byte[]>();
        await using (var store = await _fixture.OpenAsync())
        {
            for (var i = 0; i < 40; i++)
            {
                bodies[StoreFixture.SegmentPath(i)] = StoreFixture.Body(1000 + (i * 997), i);
                Assert.True(await StoreFixture.PutAsync(store, StoreFixture.SegmentPath(i), bodies[StoreFixture.SegmentPath(i)]));
            }
        }

        await using var reopened = await _fixture.OpenAsync();

        Assert.Equal(40, reopened.Recovery.Recovered);
        Assert.Equal(0, reopened.Recovery.Reindexed);
        Assert.Equal(0, reopened.Recovery.Dropped);
        Assert.False(reopened.Recovery.IndexDiscarded);
        Assert.Equal(40, reopened.Count);
        Assert.Equal(bodies.Values.Sum(b => 4096L + b.Length), reopened.UsedBytes);
        Assert.Equal(bodies.Keys.Select(StoreFixture.Hash).Order(), reopened.Entries.Select(e => e.Key).Order());
        foreach (var (path, body) in bodies)
        {
            using var obj = await reopened.OpenAsync(StoreFixture.Hash(path), path);
            Assert.NotNull(obj);
            Assert.Equal(body, StoreFixture.ReadBody(obj));
        }

        Assert.Equal(0, reopened.CorruptObjectsDropped);
    }

    [Fact]
    public async Task Crash_image_reindexes_objects_written_after_the_last_checkpoint()
    {
        var bodies = new Dictionary<string, byte[]>();
        var store = await _fixture.OpenAsync();
        for (var i = 0; i < 10; i++)
        {
            bodies[StoreFixture.SegmentPath(i)] = StoreFixture.Body(20_000 + i, i);
            Assert.True(await StoreFixture.PutAsync(store, StoreFixture.SegmentPath(i), bodies[StoreFixture.SegmentPath(i)]));
        }

        Assert.True(await store.CheckpointAsync());
        for (var i = 10; i < 20; i++)
        {
            bodies[StoreFixture.SegmentPath(i)] = StoreFixture.Body(30_000 + i, i);
            Assert.True(await StoreFixture.PutAsync(store, StoreFixture.SegmentPath(i), bodies[StoreFixture.SegmentPath(i)]));
        }

        // Replaced after the checkpoint with a body of another length, and removed after the checkpoint.
        bodies[StoreFixture.SegmentPath(0)] = StoreFixture.Body(25_000, 100);
        Assert.True(await StoreFixture.PutAsync(store, StoreFixture.SegmentPath(0), bodies[StoreFixture.SegmentPath(0)]));
        foreach (var removed in new[] { 1, 2 })
        {
            Assert.True(store.Remove(StoreFixture.Hash(StoreFixture.SegmentPath(removed))));
            bodies.Remove(StoreFixture.SegmentPath(removed));
        }

        // The image a kill -9 would leave: files as they are, index as of the last checkpoint.
        StoreFixture.CopyDirectory(_fixture.Directory, _crashImage.Directory);
        await using var recovered = await _crashImage.OpenAsync();

        Assert.Equal(7, recovered.Recovery.Recovered);
        Assert.Equal(11, recovered.Recovery.Reindexed);
        Assert.Equal(2, recovered.Recovery.Dropped);
        Assert.Equal(18, recovered.Count);
        foreach (var (path, body) in bodies)
        {
            Assert.True(recovered.TryOpen(StoreFixture.Hash(path), path, out var obj), path);
            using (obj)
            {
                Assert.Equal(body, StoreFixture.ReadBody(obj));
            }
        }

        Assert.False(recovered.TryOpen(StoreFixture.Hash(StoreFixture.SegmentPath(1)), StoreFixture.SegmentPath(1), out _));
        await store.DisposeAsync();

        // Recovery checkpointed what it reconciled: the next open finds it all in the index.
        await recovered.DisposeAsync();
        await using var again = await _crashImage.OpenAsync();
        Assert.Equal(18, again.Recovery.Recovered);
        Assert.Equal(0, again.Recovery.Reindexed);
    }

    [Fact]
    public async Task Crash_image_without_any_checkpoint_reindexes_everything()
    {
        var store = await _fixture.OpenAsync();
        for (var i = 0; i < 5; i++)
        {
            Assert.True(await StoreFixture.PutAsync(store, StoreFixture.SegmentPath(i), StoreFixture.Body(4000, i)));
        }

        StoreFixture.CopyDirectory(_fixture.Directory, _crashImage.Directory);
        await using var recovered = await _crashImage.OpenAsync();
        await store.DisposeAsync();

        Assert.Equal(0, recovered.Recovery.Recovered);
        Assert.Equal(5, recovered.Recovery.Reindexed);
        Assert.Equal(5, recovered.Count);
    }

    [Fact]
    public async Task Checkpoint_timer_runs_on_the_injected_clock()
    {
        var time = new FakeTimeProvider();
        var store = await _fixture.OpenAsync(time, TimeSpan.FromSeconds(30));
        for (var i = 0; i < 5; i++)
        {
            Assert.True(await StoreFixture.PutAsync(store, StoreFixture.SegmentPath(i), StoreFixture.Body(4000, i)));
        }

        var checkpoints = Path.Combine(_fixture.Directory, "index", "checkpoints");
        Assert.Empty(Directory.EnumerateFiles(checkpoints, "*", SearchOption.AllDirectories));
        time.Advance(TimeSpan.FromSeconds(30));

        // The timer hands the checkpoint to the thread pool; wait for its files, then for it to finish (the
        // manual checkpoint waits on the same gate and then finds nothing left to do).
        for (var waited = 0; !Directory.EnumerateFiles(checkpoints, "*", SearchOption.AllDirectories).Any() && waited < 100; waited++)
        {
            await Task.Delay(50);
        }

        Assert.False(await store.CheckpointAsync());
        StoreFixture.CopyDirectory(_fixture.Directory, _crashImage.Directory);
        await using var recovered = await _crashImage.OpenAsync();
        await store.DisposeAsync();

        Assert.Equal(5, recovered.Recovery.Recovered);
        Assert.Equal(0, recovered.Recovery.Reindexed);
    }

    [Fact]
    public async Task A_flipped_body_byte_is_caught_on_first_open_and_the_object_dropped()
    {
        const string path = "/v/abc/720p/seg-00001.m4s";
        const string asyncPath = "/v/abc/720p/seg-00002.m4s";
        await using (var store = await _fixture.OpenAsync())
        {
            Assert.True(await StoreFixture.PutAsync(store, path, StoreFixture.Body(100_000, 1)));
            Assert.True(await StoreFixture.PutAsync(store, asyncPath, StoreFixture.Body(100_000, 2)));
            Assert.True(await StoreFixture.PutAsync(store, "/v/abc/720p/seg-00003.m4s", StoreFixture.Body(100_000, 3)));
        }

        FlipByte(_fixture.ObjectFile(path), 4096 + 77_777);
        FlipByte(_fixture.ObjectFile(asyncPath), 4096);

        await using var reopened = await _fixture.OpenAsync();
        Assert.Equal(3, reopened.Recovery.Recovered);

        Assert.False(reopened.TryOpen(StoreFixture.Hash(path), path, out _));
        Assert.Null(await reopened.OpenAsync(StoreFixture.Hash(asyncPath), asyncPath));
        Assert.False(reopened.TryOpen(StoreFixture.Hash(path), path, out _));
        Assert.Equal(2, reopened.CorruptObjectsDropped);
        Assert.False(File.Exists(_fixture.ObjectFile(path)));
        Assert.False(File.Exists(_fixture.ObjectFile(asyncPath)));
        Assert.Equal(1, reopened.Count);
        Assert.Equal(4096 + 100_000, reopened.UsedBytes);

        // The intact one verifies once and is trusted afterwards.
        Assert.True(reopened.TryOpen(StoreFixture.Hash("/v/abc/720p/seg-00003.m4s"), "/v/abc/720p/seg-00003.m4s", out var intact));
        intact.Dispose();
    }

    [Fact]
    public async Task A_damaged_header_is_dropped_on_open()
    {
        const string path = "/v/abc/720p/seg-00001.m4s";
        await using (var store = await _fixture.OpenAsync())
        {
            Assert.True(await StoreFixture.PutAsync(store, path, StoreFixture.Body(10_000, 1)));
        }

        FlipByte(_fixture.ObjectFile(path), 200);
        await using var reopened = await _fixture.OpenAsync();

        Assert.False(reopened.TryOpen(StoreFixture.Hash(path), path, out _));
        Assert.Equal(1, reopened.CorruptObjectsDropped);
        Assert.Equal(0, reopened.Count);
    }

    [Fact]
    public async Task Truncated_files_are_dropped_at_recovery()
    {
        const string indexed = "/v/abc/720p/seg-00001.m4s";
        const string unindexed = "/v/abc/720p/seg-00002.m4s";
        await using (var store = await _fixture.OpenAsync())
        {
            Assert.True(await StoreFixture.PutAsync(store, indexed, StoreFixture.Body(100_000, 1)));
        }

        var store2 = await _fixture.OpenAsync();
        Assert.True(await StoreFixture.PutAsync(store2, unindexed, StoreFixture.Body(100_000, 2)));
        StoreFixture.CopyDirectory(_fixture.Directory, _crashImage.Directory);
        await store2.DisposeAsync();

        foreach (var path in new[] { indexed, unindexed })
        {
            using var file = File.OpenHandle(StoreFixture.ObjectFile(_crashImage.Directory, StoreFixture.Hash(path)), FileMode.Open, FileAccess.ReadWrite);
            RandomAccess.SetLength(file, 4096 + 50_000);
        }

        await using var recovered = await _crashImage.OpenAsync();

        Assert.Equal(2, recovered.Recovery.Dropped);
        Assert.Equal(0, recovered.Count);
        Assert.False(File.Exists(StoreFixture.ObjectFile(_crashImage.Directory, StoreFixture.Hash(indexed))));
        Assert.False(File.Exists(StoreFixture.ObjectFile(_crashImage.Directory, StoreFixture.Hash(unindexed))));
    }

    [Fact]
    public async Task Leftover_part_files_and_foreign_object_files_are_deleted()
    {
        await using (var store = await _fixture.OpenAsync())
        {
            Assert.True(await StoreFixture.PutAsync(store, "/v/abc/720p/seg-00001.m4s", StoreFixture.Body(1000, 1)));
        }

        var tmp = Path.Combine(_fixture.Directory, "tmp");
        await File.WriteAllBytesAsync(Path.Combine(tmp, "0123.part"), StoreFixture.Body(9000, 2));
        await File.WriteAllBytesAsync(Path.Combine(tmp, "4567.part"), []);
        var misplaced = Path.Combine(_fixture.Directory, "objects", "00", "00", "ffffffffffffffff.obj");
        Directory.CreateDirectory(Path.GetDirectoryName(misplaced)!);
        File.Copy(_fixture.ObjectFile("/v/abc/720p/seg-00001.m4s"), misplaced);

        await using var reopened = await _fixture.OpenAsync();

        Assert.Equal(2, reopened.Recovery.PartFilesDeleted);
        Assert.Empty(Directory.EnumerateFiles(tmp));
        Assert.False(File.Exists(misplaced));
        Assert.Equal(1, reopened.Recovery.Dropped);
        Assert.Equal(1, reopened.Count);
    }

    [Fact]
    public async Task An_unrecoverable_index_is_rebuilt_from_the_files()
    {
        await using (var store = await _fixture.OpenAsync())
        {
            for (var i = 0; i < 5; i++)
            {
                Assert.True(await StoreFixture.PutAsync(store, StoreFixture.SegmentPath(i), StoreFixture.Body(3000, i)));
            }
        }

        foreach (var file in Directory.EnumerateFiles(Path.Combine(_fixture.Directory, "index", "checkpoints"), "*", SearchOption.AllDirectories))
        {
            await File.WriteAllBytesAsync(file, new byte[64]);
        }

        await using var reopened = await _fixture.OpenAsync();

        Assert.True(reopened.Recovery.IndexDiscarded);
        Assert.Equal(5, reopened.Recovery.Reindexed);
        Assert.Equal(5, reopened.Count);
    }

    private static void FlipByte(string file, long offset)
    {
        using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.ReadWrite);
        var one = new byte[1];
        RandomAccess.Read(handle, one, offset);
        one[0] ^= 0x5a;
        RandomAccess.Write(handle, one, offset);
    }

    public void Dispose()
    {
        _fixture.Dispose();
        _crashImage.Dispose();
    }
}
