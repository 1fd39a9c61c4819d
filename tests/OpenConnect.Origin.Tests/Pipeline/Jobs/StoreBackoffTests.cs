using OpenConnect.Origin.Pipeline.Jobs;

namespace OpenConnect.Origin.Tests.Pipeline.Jobs;

public sealed class StoreBackoffTests
{
    [Theory]
    [InlineData(250, 10_000, new[] { 250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000 })]
    [InlineData(100, 300, new[] { 100, 200, 300, 300 })]
    [InlineData(1000, 1000, new[] { 1000, 1000 })]
    public void Waits_DoubleUpToTheBound(int firstMs, int maxMs, int[] expectedMs)
    {
        var backoff = new StoreBackoff(TimeSpan.FromMilliseconds(firstMs), TimeSpan.FromMilliseconds(maxMs));

        Assert.Equal(expectedMs, expectedMs.Select(_ => (int)backoff.Next().TotalMilliseconds));
        Assert.True(backoff.Failing);
    }

    [Fact]
    public void Reset_StartsTheNextOutageFromTheFirstWait()
    {
        var backoff = new StoreBackoff(TimeSpan.FromMilliseconds(250), StoreBackoff.Max);
        backoff.Next();
        backoff.Next();

        backoff.Reset();

        Assert.False(backoff.Failing);
        Assert.Equal(TimeSpan.FromMilliseconds(250), backoff.Next());
    }
}
