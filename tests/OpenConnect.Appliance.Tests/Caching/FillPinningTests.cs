using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Appliance.Caching;
using OpenConnect.Appliance.Tests.Storage;
using OpenConnect.Testing;

namespace OpenConnect.Appliance.Tests.Caching;

/// <summary>
/// Pinning and storing filled objects on a real appliance (real SSD tier files, a real parent for
/// players' misses): a pin is one decision under the cache's lock against what the store holds,
/// a fill and a player's miss of one object write it once, storage trouble is a failed result,
/// and a filled object carries the SHA-256 the fill verified.
/// </summary>
public sealed class FillPinningTests : IAsyncLifetime
{
    private const long Ssd64MiB = 64L << 20;
    private readonly TempDirectory _state = new("openconnect-pinning");
    private TestParent _parent = null!;

    public async Task InitializeAsync() => _parent = await TestParent.StartAsync();

    public async Task DisposeAsync()
    {
        await _parent.DisposeAsync();
        _state.Dispose();
    }

    [Fact]
    public async Task PinningAnObjectEvictedBeforeThePin_ChangesNeitherThePinnedBytesNorThePolicy()
    {
        await using var appliance = await StartAsync(1 << 20, Ssd64MiB);
        var cache = CacheOf(appliance);
        var body = Body(50_000, 1);
        var key = await StoreAsync(cache, "/v/t1/r0/seg-00001.m4s", body);

        // What a player's miss evicting the object does, between the fill's look and its pin.
        Assert.True(cache.Store.Remove(key));
        Assert.Equal(PinOutcome.NotHeld, cache.PinHeld(key, body.Length, SHA256.HashData(body)));

        Assert.False(cache.IsPinned(key));
        Assert.Equal(0, cache.PinnedBytes);
        Assert.Equal(Ssd64MiB, cache.SsdPolicyCapacityBytes);
    }

    [Fact]
    public async Task AHeldObjectWithAnotherBody_IsNotPinned_AndAStalePinGoesBackUnderThePolicy()
    {
        await using var appliance = await StartAsync(1 << 20, Ssd64MiB);
        var cache = CacheOf(appliance);
        var older = Body(60_000, 2);
        var named = Body(60_000, 3);
        var key = await StoreAsync(cache, "/v/t1/r0/seg-00001.m4s", older);

        // The integrity manifest names another body (a newer version of the title): not pinned as held.
        Assert.Equal(PinOutcome.NotHeld, cache.PinHeld(key, named.Length, SHA256.HashData(named)));
        Assert.False(cache.IsPinned(key));

        // A pin on the older body is released once the manifest names another, and the object is an
        // ordinary policy entry again until the named body replaces it.
        Assert.Equal(PinOutcome.Pinned, cache.PinHeld(key, older.Length, SHA256.HashData(older)));
        Assert.False(cache.InSsdPolicy(key));
        Assert.Equal(PinOutcome.NotHeld, cache.PinHeld(key, named.Length, SHA256.HashData(named)));
        Assert.False(cache.IsPinned(key));
        Assert.Equal(0, cache.PinnedBytes);
        Assert.Equal(Ssd64MiB, cache.SsdPolicyCapacityBytes);
        Assert.True(cache.InSsdPolicy(key));

        var filled = await FillAsync(cache, "/v/t1/r0/seg-00001.m4s", named);
        Assert.True(filled.Ok, filled.Error);
        Assert.True(cache.IsPinned(key));
        Assert.Equal(named.Length, cache.PinnedBytes);
    }

    [Fact]
    public async Task PinningHeldObjects_CountsTheirLength_AndRefusesPinsBeyondTheSsdTier()
    {
        await using var appliance = await StartAsync(64 << 10, 1_000_000);
        var cache = CacheOf(appliance);
        var keys = new List<ulong>();
        var bodies = new List<byte[]>();
        for (var i = 0; i < 3; i++)
        {
            bodies.Add(Body(400_000, 10 + i));
            keys.Add(await StoreAsync(cache, $"/v/t1/r0/seg-{i:D5}.m4s", bodies[i]));
        }

        PinOutcome Pin(int i) => cache.PinHeld(keys[i], bodies[i].Length, SHA256.HashData(bodies[i]));

        // The pin counts the body's length.
        Assert.Equal(PinOutcome.Pinned, Pin(0));
        Assert.Equal(400_000, cache.PinnedBytes);
        Assert.Equal(PinOutcome.Pinned, Pin(1));
        Assert.Equal(PinOutcome.OverCapacity, Pin(2));

        Assert.True(cache.IsPinned(keys[1]));
        Assert.False(cache.IsPinned(keys[2]));
        Assert.Equal(800_000, cache.PinnedBytes);
        Assert.Equal(200_000, cache.SsdPolicyCapacityBytes);

        // A fill of a new object is refused before it is written, with the reason.
        var refused = await FillAsync(cache, "/v/t1/r0/seg-00003.m4s", Body(400_000, 13));
        Assert.False(refused.Ok);
        Assert.Contains("would exceed Appliance:Cache:SsdBytes (800000 of 1000000 bytes pinned)", refused.Error);
        Assert.False(cache.HeldOnSsd(KeyHash.Of("/v/t1/r0/seg-00003.m4s")));
        Assert.Equal(800_000, cache.PinnedBytes);
    }

    [Fact]
    public async Task APlayersMissAndAFillOfOneObject_WriteItOnce_AndItEndsPinnedWithTheRightBytes()
    {
        const int Objects = 8;
        const int Length = 200_000;
        var appliance = await StartAsync(1 << 20, Ssd64MiB);
        var metrics = appliance.Services.GetRequiredService<ApplianceMetrics>();
        try
        {
            var cache = CacheOf(appliance);
            using var client = appliance.CreateClient();
            var raced = 0;
            for (var i = 0; i < Objects; i++)
            {
                var path = $"/v/race/r0/seg-{i:D5}.m4s";
                var key = KeyHash.Of(path);
                var body = Body(Length, 100 + i);
                _parent.Put(path, body);

                // The first miss puts it on probation (nothing written); the second promotes it, so the
                // player's fetch writes it to SSD while the fill stores the same object.
                Assert.Equal(body, await client.GetByteArrayAsync(path));
                var admitted = metrics.Admissions.WithLabels("ram").Value;
                var pull = client.GetByteArrayAsync(path);
                await Task.Delay(i % 4 * 3);
                var fill = FillAsync(cache, path, body);
                Assert.Equal(body, await pull);
                var stored = await fill;
                Assert.True(stored.Ok, stored.Error);

                // Either order is right: the player's request reached the parent (a miss racing the fill,
                // admitted when its fetch ends), or the fill stored the object first and it was a hit.
                if (_parent.RequestsFor(path) == 2)
                {
                    raced++;
                    await WaitUntilAsync(() => metrics.Admissions.WithLabels("ram").Value > admitted, "the player's fetch was admitted");
                }

                Assert.True(cache.IsPinned(key), path);
                Assert.False(cache.InSsdPolicy(key), path);
                Assert.True(cache.Store.TryOpen(key, path, out var onSsd), path);
                using (onSsd)
                {
                    Assert.Equal(body, StoreFixture.ReadBody(onSsd));
                }
            }

            Assert.Equal(Objects * Length, cache.PinnedBytes);
            Assert.Equal(Ssd64MiB - (Objects * Length), cache.SsdPolicyCapacityBytes);
            Assert.True(raced > 0, "no round had the player's miss racing the fill");
        }
        finally
        {
            // Disposal waits for SSD writes under way, so every write is counted below.
            await appliance.DisposeAsync();
        }

        Assert.Equal(Objects * Length, metrics.SsdBytesWritten.Value);
    }

    [Fact]
    public async Task APlayersMissEndingAfterTheFillPinnedTheObject_LeavesItOutOfTheSsdPolicy()
    {
        await using var appliance = await StartAsync(1 << 20, Ssd64MiB);
        var cache = CacheOf(appliance);
        var metrics = appliance.Services.GetRequiredService<ApplianceMetrics>();
        const string Path = "/v/late/r0/seg-00000.m4s";
        var key = KeyHash.Of(Path);
        var body = Body(50_000, 7);
        _parent.Put(Path, body);
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _parent.BeforeResponse = p => p == Path && held.TrySetResult() ? release.Task : Task.CompletedTask;

        using var client = appliance.CreateClient();
        var pull = client.GetByteArrayAsync(Path);
        await held.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var stored = await FillAsync(cache, Path, body);
        Assert.True(stored.Ok, stored.Error);
        release.SetResult();
        Assert.Equal(body, await pull);
        await WaitUntilAsync(() => metrics.Admissions.WithLabels("ram").Value >= 1, "the player's fetch was admitted");

        Assert.True(cache.IsPinned(key));
        Assert.False(cache.InSsdPolicy(key));
        Assert.Equal(50_000, cache.PinnedBytes);
        Assert.Equal(Ssd64MiB - 50_000, cache.SsdPolicyCapacityBytes);
    }

    [Fact]
    public async Task AFillTheSsdTierCannotStore_IsAFailedResult_NotAnException()
    {
        await using var appliance = await StartAsync(1 << 20, Ssd64MiB);
        var cache = CacheOf(appliance);
        var metrics = appliance.Services.GetRequiredService<ApplianceMetrics>();

        // A source's ETag longer than the object header holds.
        var longETag = await FillAsync(cache, "/v/bad/r0/seg-00000.m4s", Body(10_000, 1), etag: "\"" + new string('e', 600) + "\"");
        Assert.False(longETag.Ok);
        Assert.Contains("SSD tier", longETag.Error);

        // The SSD directory fails: its tmp/ is a file now, so no part file can be created.
        var tmp = _state.Combine("ssd", "tmp");
        Directory.Delete(tmp, recursive: true);
        await File.WriteAllTextAsync(tmp, "");
        try
        {
            var failing = await FillAsync(cache, "/v/bad/r0/seg-00001.m4s", Body(10_000, 2));
            Assert.False(failing.Ok);
            Assert.Contains("SSD tier", failing.Error);
        }
        finally
        {
            File.Delete(tmp);
            Directory.CreateDirectory(tmp);
        }

        Assert.Equal(0, cache.PinnedCount);
        Assert.Equal(Ssd64MiB, cache.SsdPolicyCapacityBytes);
        Assert.Equal(2, metrics.CacheErrors.WithLabels("ssd-write").Value);
    }

    [Fact]
    public async Task AFilledObject_CarriesTheHashTheFillVerified_AndAfterARestartVerifiesAgainstIt()
    {
        const string Good = "/v/kept/r0/seg-00000.m4s";
        const string Lied = "/v/kept/r0/seg-00001.m4s";
        var good = Body(300_000, 21);
        var lied = Body(300_000, 22);
        _parent.Put(Good, good);
        _parent.Put(Lied, lied);
        await using (var first = await StartAsync(1 << 20, Ssd64MiB))
        {
            var cache = CacheOf(first);
            var stored = await FillAsync(cache, Good, good);
            Assert.True(stored.Ok, stored.Error);

            // The store takes the fill's verified hash instead of hashing the body again, so a wrong
            // one is not caught at the write: recovery's check after a restart catches it.
            stored = await FillAsync(cache, Lied, lied, sha256: SHA256.HashData(good));
            Assert.True(stored.Ok, stored.Error);
        }

        await using var second = await StartAsync(1 << 20, Ssd64MiB);
        var store = CacheOf(second).Store;
        using var client = second.CreateClient();
        Assert.Equal(good, await client.GetByteArrayAsync(Good));
        Assert.Equal(0, _parent.RequestsFor(Good));
        Assert.Equal(0, store.CorruptObjectsDropped);

        Assert.Equal(lied, await client.GetByteArrayAsync(Lied));
        Assert.Equal(1, _parent.RequestsFor(Lied));
        Assert.Equal(1, store.CorruptObjectsDropped);
    }

    private Task<RunningRole> StartAsync(long ramBytes, long ssdBytes) => RunningRole.StartAsync(
        ApplianceHost.Build,
        $"--Appliance:Cache:Directory={_state.Path}",
        "--Appliance:ControlUrl=https://127.0.0.1:0",
        Serving.ApplianceHarness.UnsignedLoopback,
        Serving.ApplianceHarness.AllowUnsignedContent,
        $"--Appliance:Parents:0={_parent.BaseAddress}",
        $"--Appliance:Cache:RamBytes={ramBytes}",
        $"--Appliance:Cache:SsdBytes={ssdBytes}");

    private static SegmentCache CacheOf(RunningRole appliance) => appliance.Services.GetRequiredService<SegmentCache>();

    private static byte[] Body(int length, int seed) => Serving.ApplianceHarness.RandomBytes(length, seed);

    /// <summary>Puts an object straight on the SSD tier, outside the cache's policies (as a restart finds it before seeding).</summary>
    private static async Task<ulong> StoreAsync(SegmentCache cache, string path, byte[] body)
    {
        var key = KeyHash.Of(path);
        await using var writer = cache.Store.BeginWrite(key, path, body.Length, "video/mp4", "\"t\"", DateTimeOffset.UnixEpoch);
        await writer.AppendAsync(body);
        Assert.True(await writer.CommitAsync());
        return key;
    }

    private static Task<FillWriteResult> FillAsync(SegmentCache cache, string path, byte[] body, byte[]? sha256 = null, string etag = "\"f\"") =>
        cache.StoreFilledAsync(KeyHash.Of(path), path, body, sha256 ?? SHA256.HashData(body), "video/mp4", etag, DateTimeOffset.UnixEpoch, CancellationToken.None);

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25);
        }

        Assert.True(condition(), $"timed out waiting until {what}");
    }
}
