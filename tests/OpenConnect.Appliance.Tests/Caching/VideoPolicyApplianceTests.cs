using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Appliance.Caching;
using OpenConnect.Testing;

namespace OpenConnect.Appliance.Tests.Caching;

/// <summary>
/// <c>Cache:Policy=video</c> on a real appliance: it starts, serves, hands the SSD policy what each
/// fetched path says (objects of one title share one group of counters), and writes to SSD only what
/// leaves probation worth it (a title's segments requested once stay off the SSD).
/// </summary>
public sealed class VideoPolicyApplianceTests : IAsyncLifetime
{
    private readonly TempDirectory _state = new("openconnect-video-policy");
    private TestParent _parent = null!;

    public async Task InitializeAsync() => _parent = await TestParent.StartAsync();

    public async Task DisposeAsync()
    {
        await _parent.DisposeAsync();
        _state.Dispose();
    }

    [Theory]
    // Six segments of two titles: two groups of counters, not six.
    [InlineData("video", 2)]
    // The other policies keep no title counters.
    [InlineData("s3fifo", null)]
    public async Task The_ssd_policy_receives_the_title_of_each_fetched_path(string policy, int? expectedGroups)
    {
        string[] paths = ["/v/t1/720p/seg-00000.m4s", "/v/t1/720p/seg-00001.m4s", "/v/t1/360p/seg-00000.m4s", "/v/t2/720p/seg-00000.m4s", "/v/t2/720p/seg-00001.m4s", "/v/t2/720p/seg-00002.m4s"];
        for (var i = 0; i < paths.Length; i++)
        {
            _parent.Put(paths[i], Serving.ApplianceHarness.RandomBytes(20_000, i + 1));
        }

        await using var appliance = await StartAsync(policy);
        var cache = appliance.Services.GetRequiredService<SegmentCache>();
        using var client = appliance.CreateClient();
        for (var i = 0; i < paths.Length; i++)
        {
            Assert.Equal(Serving.ApplianceHarness.RandomBytes(20_000, i + 1), await client.GetByteArrayAsync(paths[i]));
        }

        Assert.Equal(expectedGroups, cache.SsdPolicyGroups);
        if (expectedGroups is not null)
        {
            // Requested once each, on probation in RAM: none was worth an SSD write yet.
            foreach (var path in paths)
            {
                Assert.False(cache.HeldOnSsd(KeyHash.Of(path)), path);
            }
        }
    }

    private Task<RunningRole> StartAsync(string policy) => Serving.ApplianceHarness.StartWithPolicyAsync(_state.Path, _parent.BaseAddress, policy);
}
