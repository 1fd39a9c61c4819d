using Microsoft.Extensions.Time.Testing;
using OpenConnect.Appliance.Fill;

namespace OpenConnect.Appliance.Tests.Caching;

/// <summary>Fill and prefetch stay under their byte rate on average.</summary>
public sealed class RatePacerTests
{
    [Fact]
    public async Task AfterEachObject_WaitsUntilTheBytesSoFarFitTheRate()
    {
        var time = new FakeTimeProvider();
        var pacer = new RatePacer(1000, time);

        var first = pacer.AddAsync(500, CancellationToken.None);
        time.Advance(TimeSpan.FromMilliseconds(499));
        Assert.False(first.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        await first.WaitAsync(TimeSpan.FromSeconds(5));

        // Time spent elsewhere counts: 1.2 s after the start, 1,000 more bytes are due at 1.5 s.
        time.Advance(TimeSpan.FromMilliseconds(700));
        var second = pacer.AddAsync(1000, CancellationToken.None);
        time.Advance(TimeSpan.FromMilliseconds(299));
        Assert.False(second.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        await second.WaitAsync(TimeSpan.FromSeconds(5));

        // Behind the rate already: no wait.
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.True(pacer.AddAsync(1000, CancellationToken.None).IsCompleted);
        Assert.Equal(2500, pacer.Bytes);
    }

    [Fact]
    public void ARateOfZero_IsUncapped()
    {
        var pacer = new RatePacer(0, new FakeTimeProvider());
        Assert.True(pacer.AddAsync(long.MaxValue / 2, CancellationToken.None).IsCompleted);
    }

    [Fact]
    public async Task AWait_EndsWhenCancelled()
    {
        var time = new FakeTimeProvider();
        using var cancel = new CancellationTokenSource();
        var wait = new RatePacer(1, time).AddAsync(1000, cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(TimeSpan.FromSeconds(5)));
    }
}
