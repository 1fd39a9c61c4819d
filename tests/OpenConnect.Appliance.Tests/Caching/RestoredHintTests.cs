using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Appliance.Caching;
using OpenConnect.Testing;

namespace OpenConnect.Appliance.Tests.Caching;

/// <summary>
/// Objects the SSD tier holds come back under <c>Cache:Policy=video</c> after a restart with the title,
/// rendition and position their stored path gives, so the restarted policy groups them by title as
/// before instead of treating each as a lone object.
/// </summary>
public sealed class RestoredHintTests : IAsyncLifetime
{
    private static readonly string[] Paths =
    [
        "/v/t1/720p/seg-00000.m4s", "/v/t1/720p/seg-00001.m4s", "/v/t1/360p/seg-00000.m4s",
        "/v/t2/720p/seg-00000.m4s", "/v/t2/720p/seg-00001.m4s", "/v/t2/720p/seg-00002.m4s",
    ];

    private readonly TempDirectory _state = new("openconnect-restored-hints");
    private TestParent _parent = null!;

    public async Task InitializeAsync()
    {
        _parent = await TestParent.StartAsync();
        for (var i = 0; i < Paths.Length; i++)
        {
            _parent.Put(Paths[i], Serving.ApplianceHarness.RandomBytes(20_000, i + 1));
        }
    }

    public async Task DisposeAsync()
    {
        await _parent.DisposeAsync();
        _state.Dispose();
    }

    [Fact]
    public async Task A_restarted_video_policy_groups_the_stored_objects_by_title_again()
    {
        await using (var first = await StartAsync())
        {
            var cache = first.Services.GetRequiredService<SegmentCache>();
            foreach (var path in Paths)
            {
                // A fill writes straight to SSD; the object enters the policy with its path's hint.
                var result = await cache.PrefetchAsync(KeyHash.Of(path), path, CancellationToken.None);
                Assert.True(result.Ok, result.Error);
            }

            Assert.Equal(2, cache.SsdPolicyGroups);
        }

        await using var second = await StartAsync();
        var restarted = second.Services.GetRequiredService<SegmentCache>();
        foreach (var path in Paths)
        {
            Assert.True(restarted.HeldOnSsd(KeyHash.Of(path)), path);
        }

        // Six objects of two titles: two groups of counters, as before the restart (six without hints).
        Assert.Equal(2, restarted.SsdPolicyGroups);
        using var client = second.CreateClient();
        for (var i = 0; i < Paths.Length; i++)
        {
            Assert.Equal(Serving.ApplianceHarness.RandomBytes(20_000, i + 1), await client.GetByteArrayAsync(Paths[i]));
        }

        Assert.Equal(2, restarted.SsdPolicyGroups);
    }

    [Fact]
    public async Task Objects_a_new_manifest_releases_return_to_the_video_policy_with_their_hints()
    {
        await using var role = await StartAsync();
        var cache = role.Services.GetRequiredService<SegmentCache>();
        for (var i = 0; i < Paths.Length; i++)
        {
            var result = await cache.PrefetchAsync(KeyHash.Of(Paths[i]), Paths[i], CancellationToken.None);
            Assert.True(result.Ok, result.Error);
            var body = Serving.ApplianceHarness.RandomBytes(20_000, i + 1);
            Assert.Equal(PinOutcome.Pinned, cache.PinHeld(KeyHash.Of(Paths[i]), body.Length, System.Security.Cryptography.SHA256.HashData(body)));
        }

        Assert.Equal(Paths.Length, cache.PinnedCount);

        // The fill agent releases the pins of files a new manifest no longer lists, passing each object's
        // path (read from its header when the inventory has not seen it): back under the policy, they are
        // grouped by their two titles, not six lone objects.
        foreach (var path in Paths)
        {
            cache.Unpin(KeyHash.Of(path), cache.Store.ReadPath(KeyHash.Of(path)));
        }

        Assert.Equal(0, cache.PinnedCount);
        Assert.Equal(2, cache.SsdPolicyGroups);
    }

    private Task<RunningRole> StartAsync() => Serving.ApplianceHarness.StartWithPolicyAsync(_state.Path, _parent.BaseAddress, "video");
}
