using System.Net;
using Microsoft.Extensions.Time.Testing;
using OpenConnect.Steering.Play;

namespace OpenConnect.Steering.Tests;

/// <summary>The per-client token bucket behind <c>/play</c>: who shares a bucket, and the bounded bucket table.</summary>
public sealed class PlayRateLimiterTests
{
    [Theory]
    [InlineData("192.0.2.1", "192.0.2.1", true)]
    [InlineData("192.0.2.1", "::ffff:192.0.2.1", true)]
    [InlineData("192.0.2.1", "192.0.2.2", false)]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true)]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:3::1", false)]
    [InlineData("0.0.0.1", "::1", false)]
    public void Clients_ShareABucket_PerIPv4AddressOrIPv6Slash64(string a, string b, bool same)
    {
        Assert.Equal(same, PlayRateLimiter.KeyOf(IPAddress.Parse(a)) == PlayRateLimiter.KeyOf(IPAddress.Parse(b)));
    }

    [Fact]
    public void FullTable_DropsIdleClients_AndKeepsLimitingBusyOnes()
    {
        var time = new FakeTimeProvider();
        var limiter = new PlayRateLimiter(time, perSecond: 1, burst: 2, maxClients: 4);
        var busy = IPAddress.Parse("198.51.100.1");
        Assert.True(limiter.TryAcquire(busy, out _));
        Assert.True(limiter.TryAcquire(busy, out _));
        for (var i = 2; i <= 4; i++)
        {
            Assert.True(limiter.TryAcquire(IPAddress.Parse($"198.51.100.{i}"), out _));
        }

        // A second on, clients 2-4 have refilled (idle); the busy one has one token, and spends it.
        Assert.Equal(4, limiter.Clients);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(limiter.TryAcquire(busy, out _));
        Assert.False(limiter.TryAcquire(busy, out var retry));
        Assert.Equal(TimeSpan.FromSeconds(1), retry);

        // A fifth client finds the table full: the three refilled buckets go (at least a quarter), the busy one stays limited.
        Assert.True(limiter.TryAcquire(IPAddress.Parse("198.51.100.5"), out _));
        Assert.Equal(2, limiter.Clients);
        Assert.False(limiter.TryAcquire(busy, out _));
    }

    [Fact]
    public void FullTableOfBusyClients_IsCleared_SoNoClientIsLockedOut()
    {
        var time = new FakeTimeProvider();
        var limiter = new PlayRateLimiter(time, perSecond: 1, burst: 1, maxClients: 4);
        for (var i = 1; i <= 4; i++)
        {
            Assert.True(limiter.TryAcquire(IPAddress.Parse($"203.0.113.{i}"), out _));
        }

        Assert.False(limiter.TryAcquire(IPAddress.Parse("203.0.113.1"), out _));
        Assert.True(limiter.TryAcquire(IPAddress.Parse("203.0.113.5"), out _));
        Assert.Equal(1, limiter.Clients);
        Assert.True(limiter.TryAcquire(IPAddress.Parse("203.0.113.1"), out _));
    }
}
