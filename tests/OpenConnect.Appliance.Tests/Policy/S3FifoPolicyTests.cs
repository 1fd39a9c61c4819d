using OpenConnect.Appliance.Caching.Policy;

namespace OpenConnect.Appliance.Tests.Policy;

public sealed class S3FifoPolicyTests
{
    // Capacity 100 bytes: small queue 10, main 90. Objects of 5 bytes, so small holds two.
    private static S3FifoPolicy Create(S3FifoOptions? options = null) => new(100, options);

    [Theory]
    [InlineData(10)]
    [InlineData(1_000)]
    public void One_hit_wonders_never_reach_main(int objects)
    {
        var p = Create();
        var promoted = new List<ulong>();
        var evicted = new List<ulong>();
        for (var k = 0UL; k < (ulong)objects; k++)
        {
            Assert.False(p.Access(k));
            Assert.True(p.Admit(k, 5, evicted, promoted));
        }

        Assert.Empty(promoted);
        Assert.Equal(0, p.BytesAdmittedToMain);
        Assert.Equal(0, p.MainBytes);
        Assert.True(p.SmallBytes <= p.SmallCapacityBytes);
    }

    [Theory]
    [InlineData(1, 1)] // one hit in probation is enough by default
    [InlineData(1, 3)]
    [InlineData(2, 2)]
    public void Objects_hit_in_small_are_promoted_when_they_reach_its_head(int threshold, int hits)
    {
        var p = Create(new S3FifoOptions { PromoteThreshold = threshold });
        var promoted = new List<ulong>();
        var evicted = new List<ulong>();
        p.Admit(1, 5, evicted, promoted);
        for (var i = 0; i < hits; i++)
        {
            Assert.True(p.Access(1));
        }

        p.Admit(2, 5, evicted, promoted);
        Assert.Empty(promoted); // small not full yet: no move, no SSD write
        p.Admit(3, 5, evicted, promoted);

        Assert.Equal([1UL], promoted);
        Assert.Empty(evicted);
        Assert.True(p.IsInMain(1));
        Assert.Equal(5, p.BytesAdmittedToMain);
        Assert.Equal(5, p.MainBytes);
        Assert.Equal(10, p.SmallBytes);
    }

    [Fact]
    public void Objects_below_the_promote_threshold_go_to_the_ghost()
    {
        var p = Create(new S3FifoOptions { PromoteThreshold = 2 });
        var promoted = new List<ulong>();
        var evicted = new List<ulong>();
        p.Admit(1, 5, evicted, promoted);
        p.Access(1);
        p.Admit(2, 5, evicted, promoted);
        p.Admit(3, 5, evicted, promoted);

        Assert.Empty(promoted);
        Assert.Equal([1UL], evicted);
        Assert.Equal(1, p.GhostCount);
    }

    [Fact]
    public void Ghost_hits_go_straight_to_main()
    {
        var p = Create();
        var promoted = new List<ulong>();
        var evicted = new List<ulong>();
        p.Admit(1, 5, evicted, promoted);
        p.Admit(2, 5, evicted, promoted);
        p.Admit(3, 5, evicted, promoted); // 1 leaves small unhit: evicted, remembered in the ghost
        Assert.Equal([1UL], evicted);
        Assert.False(p.Contains(1));
        Assert.False(p.Access(1)); // a ghost entry is not a hit

        Assert.True(p.Admit(1, 5, evicted, promoted));

        Assert.Equal([1UL], promoted);
        Assert.True(p.IsInMain(1));
        Assert.Equal(0, p.GhostCount);
        Assert.Equal(5, p.BytesAdmittedToMain);
    }

    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(0.5, 10)] // 50 bytes of 5-byte keys
    [InlineData(2.0, 40)]
    public void The_ghost_is_bounded_by_the_bytes_it_remembers(double ghostFraction, int expectedGhosts)
    {
        var p = Create(new S3FifoOptions { GhostFraction = ghostFraction });
        var evicted = new List<ulong>();
        for (var k = 0UL; k < 1_000; k++)
        {
            p.Admit(k, 5, evicted);
        }

        Assert.Equal(expectedGhosts, p.GhostCount);
    }

    [Fact]
    public void Removed_keys_are_forgotten_by_the_ghost()
    {
        var p = Create();
        var evicted = new List<ulong>();
        p.Admit(1, 5, evicted);
        p.Admit(2, 5, evicted);
        p.Admit(3, 5, evicted);
        Assert.False(p.Remove(1)); // only a ghost entry: nothing resident removed

        var promoted = new List<ulong>();
        p.Admit(1, 5, evicted, promoted);
        Assert.Empty(promoted);
        Assert.False(p.IsInMain(1));
    }

    [Fact]
    public void Main_reinserts_objects_hit_since_their_last_pass()
    {
        // Small 10, main 90: promote 18 objects of 5 bytes to fill main, hit object 100 in main, then overflow it.
        var p = Create();
        var evicted = new List<ulong>();
        for (var k = 100UL; k < 118; k++)
        {
            p.Admit(k, 5, evicted);
            p.Access(k);
        }

        p.Admit(1, 5, evicted);
        p.Admit(2, 5, evicted); // promotes everything before 1 and 2: main now holds 100..117
        Assert.Equal(90, p.MainBytes);
        Assert.Empty(evicted);

        Assert.True(p.Access(100));
        p.Access(1);
        p.Admit(3, 5, evicted); // 1 is promoted; main must drop one: 100 was hit, so 101 goes

        Assert.Equal([101UL], evicted);
        Assert.True(p.IsInMain(100));
        Assert.True(p.IsInMain(1));
    }

    [Theory]
    [InlineData(11, false)] // does not fit the small queue (10 bytes)
    [InlineData(10, true)]
    public void Objects_too_large_for_probation_need_a_second_miss(long size, bool residentFirst)
    {
        var p = Create();
        var evicted = new List<ulong>();
        var promoted = new List<ulong>();

        Assert.Equal(residentFirst, p.Admit(1, size, evicted, promoted));
        if (!residentFirst)
        {
            Assert.Equal(1, p.GhostCount);
            Assert.True(p.Admit(1, size, evicted, promoted));
            Assert.True(p.IsInMain(1));
            Assert.Equal([1UL], promoted);
        }
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.6)]
    [InlineData(double.NaN)]
    public void Invalid_options_are_rejected_by_name(double smallFraction)
    {
        var ex = Assert.Throws<ArgumentException>(() => Create(new S3FifoOptions { SmallFraction = smallFraction }));
        Assert.Contains("SmallFraction", ex.Message);
    }
}
