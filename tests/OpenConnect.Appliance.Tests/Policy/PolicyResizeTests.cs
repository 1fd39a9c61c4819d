using OpenConnect.Appliance.Caching.Policy;

namespace OpenConnect.Appliance.Tests.Policy;

/// <summary>Pinning shrinks the SSD policy: a resize evicts until the resident bytes fit, and growing back evicts nothing.</summary>
public sealed class PolicyResizeTests
{
    [Theory]
    [InlineData(PolicyFactory.S3Fifo)]
    [InlineData(PolicyFactory.Video)]
    [InlineData(PolicyFactory.Lru)]
    [InlineData(PolicyFactory.Fifo)]
    public void Shrink_EvictsToTheNewCapacity_AndGrowKeepsEverything(string name)
    {
        var policy = PolicyFactory.Create(name, 10_000);
        var evicted = new List<ulong>();
        // Every object requested twice, so S3-FIFO moves them to main as well.
        for (ulong key = 1; key <= 40; key++)
        {
            policy.Admit(key, 200, evicted);
            policy.Access(key);
            policy.Admit(key, 200, evicted);
        }

        var residentBefore = policy.Count;
        evicted.Clear();
        policy.Resize(4_000, evicted);
        Assert.Equal(4_000, policy.CapacityBytes);
        Assert.True(policy.UsedBytes <= 4_000, $"{policy.UsedBytes} bytes resident after shrinking to 4000");
        Assert.Equal(residentBefore - policy.Count, evicted.Count);
        Assert.All(evicted, key => Assert.False(policy.Contains(key)));

        evicted.Clear();
        var resident = policy.Count;
        policy.Resize(10_000, evicted);
        Assert.Empty(evicted);
        Assert.Equal(resident, policy.Count);
    }
}
