namespace OpenConnect.Appliance.Tests.Storage;

public sealed class SsdStoreWriteTests : IDisposable
{
    private readonly StoreFixture _fixture = new();

    [Fact]
    public async Task Round_trip_serves_the_body_from_the_header_offset()
    {
        await using var store = await _fixture.OpenAsync();
        const string path = "/v/abc/720p/seg-00001.m4s";
        var body = StoreFixture.Body(300_000, 1);

        Assert.True(await StoreFixture.PutAsync(store, path, body));

        Assert.True(store.TryOpen(StoreFixture.Hash(path), path, out var obj));
        using (obj)
        {
            Assert.Equal(4096, obj.BodyOffset);
            Assert.Equal(body.Length, obj.BodyLength);
            Assert.Equal("video/mp4", obj.ContentType);
            Assert.Equal("\"e-300000\"", obj.ETag);
            Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), obj.LastModified);
            Assert.Equal(path, obj.Path);
            Assert.Equal(StoreFixture.Sha256(body), obj.Sha256.ToArray());
            Assert.Equal(4096 + body.Length, RandomAccess.GetLength(obj.Handle));
            Assert.Equal(body, StoreFixture.ReadBody(obj));
        }

        using var again = await store.OpenAsync(StoreFixture.Hash(path), path);
        Assert.NotNull(again);
        Assert.Equal(body, StoreFixture.ReadBody(again));

        Assert.True(File.Exists(_fixture.ObjectFile(path)));
        Assert.Equal(1, store.Count);
        Assert.Equal(4096 + body.Length, store.UsedBytes);
        Assert.Equal([(StoreFixture.Hash(path), 4096L + body.Length)], store.Entries.ToArray());
    }

    [Theory]
    [InlineData(new[] { 1, 16_384, 300_000, 17, 262_144, 5 })]
    [InlineData(new[] { 262_144, 262_144, 1 })]
    [InlineData(new[] { 0, 1000, 0 })]
    public async Task Streamed_chunks_are_stored_in_order(int[] chunkSizes)
    {
        await using var store = await _fixture.OpenAsync();
        const string path = "/v/abc/1080p/seg-00002.m4s";
        var body = StoreFixture.Body(chunkSizes.Sum(), 2);

        await using (var writer = store.BeginWrite(StoreFixture.Hash(path), path, body.Length, "video/mp4", "\"x\"", DateTimeOffset.UnixEpoch))
        {
            var offset = 0;
            foreach (var size in chunkSizes)
            {
                await writer.AppendAsync(body.AsMemory(offset, size));
                offset += size;
            }

            Assert.Equal(body.Length, writer.BodyLength);
            Assert.True(await writer.CommitAsync(StoreFixture.Sha256(body)));
        }

        using var obj = await store.OpenAsync(StoreFixture.Hash(path), path);
        Assert.NotNull(obj);
        Assert.Equal(body, StoreFixture.ReadBody(obj));
    }

    [Fact]
    public async Task Unknown_length_writes_commit_whatever_arrived()
    {
        await using var store = await _fixture.OpenAsync();
        const string path = "/v/abc/master.m3u8";
        var body = StoreFixture.Body(5000, 3);

        await using (var writer = store.BeginWrite(StoreFixture.Hash(path), path, -1, "application/vnd.apple.mpegurl", "", DateTimeOffset.UnixEpoch))
        {
            await writer.AppendAsync(body);
            Assert.True(await writer.CommitAsync());
        }

        Assert.True(store.TryOpen(StoreFixture.Hash(path), path, out var obj));
        using (obj)
        {
            Assert.Equal(body, StoreFixture.ReadBody(obj));
        }
    }

    [Fact]
    public async Task Abort_and_dispose_without_commit_leave_nothing()
    {
        await using var store = await _fixture.OpenAsync();
        const string path = "/v/abc/720p/seg-00003.m4s";
        var body = StoreFixture.Body(100_000, 4);

        var aborted = store.BeginWrite(StoreFixture.Hash(path), path, body.Length, "video/mp4", "\"a\"", DateTimeOffset.UnixEpoch);
        await aborted.AppendAsync(body.AsMemory(0, 50_000));
        await aborted.AbortAsync();
        Assert.False(await aborted.CommitAsync());
        aborted.Dispose();

        await using (var abandoned = store.BeginWrite(StoreFixture.Hash(path), path, body.Length, "video/mp4", "\"a\"", DateTimeOffset.UnixEpoch))
        {
            await abandoned.AppendAsync(body);
        }

        Assert.False(store.TryOpen(StoreFixture.Hash(path), path, out _));
        Assert.Equal(0, store.Count);
        Assert.Equal(0, store.UsedBytes);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_fixture.Directory, "tmp")));
        Assert.False(File.Exists(_fixture.ObjectFile(path)));
    }

    [Fact]
    public async Task Hash_or_length_mismatch_is_rejected_and_stores_nothing()
    {
        await using var store = await _fixture.OpenAsync();
        const string path = "/v/abc/720p/seg-00004.m4s";
        var body = StoreFixture.Body(70_000, 5);
        var wrongSha = StoreFixture.Sha256(body);
        wrongSha[0] ^= 1;

        Assert.False(await StoreFixture.PutAsync(store, path, body, expectedSha: wrongSha));

        // Fewer bytes than announced.
        await using (var shortWriter = store.BeginWrite(StoreFixture.Hash(path), path, body.Length + 1, "video/mp4", "\"s\"", DateTimeOffset.UnixEpoch))
        {
            await shortWriter.AppendAsync(body);
            Assert.False(await shortWriter.CommitAsync());
        }

        // More bytes than announced: refused as soon as they arrive.
        await using (var longWriter = store.BeginWrite(StoreFixture.Hash(path), path, body.Length - 1, "video/mp4", "\"l\"", DateTimeOffset.UnixEpoch))
        {
            await longWriter.AppendAsync(body);
            Assert.False(longWriter.IsOpen);
            Assert.False(await longWriter.CommitAsync());
        }

        Assert.Equal(3, store.IntegrityRejects);
        Assert.Equal(0, store.WriteFailures);
        Assert.True(store.IsHealthy);
        Assert.Equal(0, store.Count);
        Assert.False(store.TryOpen(StoreFixture.Hash(path), path, out _));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_fixture.Directory, "tmp")));

        Assert.True(await StoreFixture.PutAsync(store, path, body, expectedSha: StoreFixture.Sha256(body)));
    }

    [Fact]
    public async Task A_known_hash_goes_into_the_header_and_the_index_tells_bodies_apart_by_length_and_hash()
    {
        await using var store = await _fixture.OpenAsync();
        const string path = "/v/abc/720p/seg-00009.m4s";
        var key = StoreFixture.Hash(path);
        var body = StoreFixture.Body(90_000, 9);
        var sha = StoreFixture.Sha256(body);
        Assert.Throws<ArgumentException>(() => store.BeginWrite(key, path, body.Length, "video/mp4", "\"k\"", DateTimeOffset.UnixEpoch, sha[..16]));
        Assert.False(store.TryGetBodyLength(key, out _));

        await using (var writer = store.BeginWrite(key, path, body.Length, "video/mp4", "\"k\"", DateTimeOffset.UnixEpoch, sha))
        {
            await writer.AppendAsync(body);
            Assert.True(await writer.CommitAsync());
        }

        Assert.True(store.TryOpen(key, path, out var stored));
        using (stored)
        {
            Assert.Equal(sha, stored.Sha256.ToArray());
            Assert.Equal(body, StoreFixture.ReadBody(stored));
        }

        Assert.True(store.TryGetBodyLength(key, out var length));
        Assert.Equal(body.Length, length);
        Assert.True(store.HoldsBody(key, body.Length, sha));
        Assert.False(store.HoldsBody(key, body.Length + 1, sha));
        var other = StoreFixture.Sha256(StoreFixture.Body(90_000, 10));
        Assert.False(store.HoldsBody(key, body.Length, other));
    }

    [Fact]
    public async Task Replacing_an_object_serves_the_new_body_while_open_handles_keep_the_old()
    {
        await using var store = await _fixture.OpenAsync();
        const string path = "/v/abc/720p/seg-00005.m4s";
        var first = StoreFixture.Body(10_000, 6);
        var second = StoreFixture.Body(20_000, 7);

        Assert.True(await StoreFixture.PutAsync(store, path, first));
        Assert.True(store.TryOpen(StoreFixture.Hash(path), path, out var old));
        using (old)
        {
            Assert.True(await StoreFixture.PutAsync(store, path, second));
            Assert.Equal(first, StoreFixture.ReadBody(old));
        }

        Assert.True(store.TryOpen(StoreFixture.Hash(path), path, out var current));
        using (current)
        {
            Assert.Equal(second, StoreFixture.ReadBody(current));
        }

        Assert.Equal(1, store.Count);
        Assert.Equal(4096 + second.Length, store.UsedBytes);
    }

    [Fact]
    public async Task Remove_deletes_the_file_and_in_flight_handles_still_read()
    {
        await using var store = await _fixture.OpenAsync();
        const string path = "/v/abc/720p/seg-00006.m4s";
        var body = StoreFixture.Body(50_000, 8);
        Assert.True(await StoreFixture.PutAsync(store, path, body));
        Assert.True(store.TryOpen(StoreFixture.Hash(path), path, out var obj));

        Assert.True(store.Remove(StoreFixture.Hash(path)));

        Assert.False(File.Exists(_fixture.ObjectFile(path)));
        Assert.False(store.TryOpen(StoreFixture.Hash(path), path, out _));
        Assert.False(store.Remove(StoreFixture.Hash(path)));
        Assert.Equal(0, store.Count);
        Assert.Equal(0, store.UsedBytes);
        using (obj)
        {
            Assert.Equal(body, StoreFixture.ReadBody(obj));
        }
    }

    [Fact]
    public async Task A_different_path_with_the_same_key_hash_is_a_miss()
    {
        await using var store = await _fixture.OpenAsync();
        const string path = "/v/abc/720p/seg-00007.m4s";
        Assert.True(await StoreFixture.PutAsync(store, path, StoreFixture.Body(1000, 9)));

        Assert.False(store.TryOpen(StoreFixture.Hash(path), "/v/other/720p/seg-00007.m4s", out _));
        Assert.True(store.TryOpen(StoreFixture.Hash(path), path, out var obj));
        obj.Dispose();
    }

    public void Dispose() => _fixture.Dispose();
}
