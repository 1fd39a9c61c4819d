using OpenConnect.Appliance.Caching.Policy;

namespace OpenConnect.Appliance.Tests.Policy;

/// <summary>The appliance-specific entries into main: repeat misses on probation, restores and fills.</summary>
public sealed class S3FifoPromotionTests
{
    [Fact]
    public void Admit_OfAKeyOnProbation_PromotesItToMain_AndReportsTheWrite()
    {
        var policy = new S3FifoPolicy(1000);
        List<ulong> evicted = [];
        List<ulong> promoted = [];
        Assert.True(policy.Admit(1, 50, evicted, promoted));
        Assert.False(policy.IsInMain(1));
        Assert.Empty(promoted);

        Assert.True(policy.Admit(1, 50, evicted, promoted));
        Assert.True(policy.IsInMain(1));
        Assert.Equal([1UL], promoted);
        Assert.Equal(50, policy.BytesAdmittedToMain);
        Assert.Equal(50, policy.UsedBytes);
    }

    [Theory]
    [InlineData(false)] // unknown key
    [InlineData(true)] // key on probation
    public void Restore_PutsTheKeyInMain(bool onProbationFirst)
    {
        var policy = new S3FifoPolicy(1000);
        List<ulong> evicted = [];
        if (onProbationFirst)
        {
            policy.Admit(7, 40, evicted);
        }

        Assert.True(policy.Restore(7, 40, evicted));
        Assert.True(policy.IsInMain(7));
        Assert.Equal(40, policy.UsedBytes);
        Assert.Empty(evicted);
    }

    [Fact]
    public void Restore_OfMoreThanMainHolds_EvictsFromMain_AndNeverExceedsCapacity()
    {
        var policy = new S3FifoPolicy(1000);
        List<ulong> evicted = [];
        for (ulong k = 1; k <= 20; k++)
        {
            policy.Restore(k, 100, evicted);
            Assert.True(policy.UsedBytes <= policy.CapacityBytes);
        }

        Assert.NotEmpty(evicted);
        Assert.Contains(1UL, evicted);
        Assert.False(policy.Restore(99, 2000, evicted));
    }
}
