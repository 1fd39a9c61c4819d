using OpenConnect.Appliance.Caching.Policy;

namespace OpenConnect.Appliance.Tests.Policy;

public sealed class BaselinePolicyTests
{
    [Theory]
    // capacity 3 unit objects; the trace, then the hits and evictions expected
    [InlineData("lru", "1 2 3 1 4 5", 1, "2 3")]        // 1 was touched, so 2 and 3 go first
    [InlineData("fifo", "1 2 3 1 4 5", 1, "1 2")]       // FIFO ignores the hit on 1
    [InlineData("lru", "1 2 3 4 1 2 3 4", 0, "1 2 3 4 1")] // cyclic scan larger than the cache: LRU never hits
    [InlineData("fifo", "1 2 3 4 1 2 3 4", 0, "1 2 3 4 1")]
    [InlineData("lru", "1 1 1 2 2 3", 3, "")]
    [InlineData("lru", "1 2 3 2 1 4 5 1", 3, "3 2")]
    public void Order_on_hand_made_traces(string policy, string trace, int expectedHits, string expectedEvicted)
    {
        var p = PolicyFactory.Create(policy, 3);
        var outcome = PolicyTraces.Replay(p, PolicyTraces.Unit(trace));

        Assert.Equal(expectedHits, outcome.Hits);
        Assert.Equal(PolicyTraces.Unit(expectedEvicted).ConvertAll(r => r.Key), outcome.Evicted);
    }

    [Theory]
    [InlineData("lru")]
    [InlineData("fifo")]
    public void Large_objects_evict_several_small_ones(string policy)
    {
        var p = PolicyFactory.Create(policy, 100);
        var evicted = new List<ulong>();
        Assert.True(p.Admit(1, 30, evicted));
        Assert.True(p.Admit(2, 30, evicted));
        Assert.True(p.Admit(3, 30, evicted));
        Assert.True(p.Admit(4, 80, evicted));

        Assert.Equal([1UL, 2UL, 3UL], evicted);
        Assert.Equal(80, p.UsedBytes);
        Assert.Equal(1, p.Count);
    }

    [Theory]
    [InlineData("lru", 101)]
    [InlineData("fifo", 101)]
    [InlineData("s3fifo", 101)]
    [InlineData("lru", 1000)]
    [InlineData("s3fifo", 1000)]
    public void Objects_larger_than_capacity_are_rejected(string policy, long size)
    {
        var p = PolicyFactory.Create(policy, 100);
        var evicted = new List<ulong>();
        Assert.True(p.Admit(1, 5, evicted));

        Assert.False(p.Admit(2, size, evicted));
        Assert.False(p.Contains(2));
        Assert.True(p.Contains(1));
        Assert.Empty(evicted);
    }

    [Theory]
    [InlineData("lru")]
    [InlineData("fifo")]
    [InlineData("s3fifo")]
    public void Remove_frees_bytes_and_admit_is_idempotent(string policy)
    {
        var p = PolicyFactory.Create(policy, 100);
        var evicted = new List<ulong>();
        Assert.True(p.Admit(7, 10, evicted));
        Assert.True(p.Admit(7, 10, evicted));
        Assert.Equal(10, p.UsedBytes);

        Assert.True(p.Remove(7));
        Assert.False(p.Remove(7));
        Assert.False(p.Contains(7));
        Assert.False(p.Access(7));
        Assert.Equal(0, p.UsedBytes);
        Assert.Equal(0, p.Count);
    }

    [Fact]
    public void Factory_rejects_unknown_names()
    {
        var ex = Assert.Throws<ArgumentException>(() => PolicyFactory.Create("arc", 100));
        Assert.Contains("s3fifo", ex.Message);
        Assert.Equal("s3fifo", PolicyFactory.Default);
    }
}
