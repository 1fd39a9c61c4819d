using Microsoft.Extensions.Time.Testing;
using OpenConnect.Appliance.Upstream;

namespace OpenConnect.Appliance.Tests.Upstream;

/// <summary>The not-found cache: TTL, the path check for colliding keys, and its count and byte bounds.</summary>
public sealed class NotFoundCacheTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void A404_IsRememberedForTheTtl_ThenForgotten()
    {
        var cache = new NotFoundCache(TimeSpan.FromSeconds(10), 100, 1 << 20, _time);
        cache.Add(1, "/v/t/r/a.m4s");
        Assert.True(cache.IsNotFound(1, "/v/t/r/a.m4s"));

        _time.Advance(TimeSpan.FromSeconds(9.9));
        Assert.True(cache.IsNotFound(1, "/v/t/r/a.m4s"));

        _time.Advance(TimeSpan.FromSeconds(0.2));
        Assert.False(cache.IsNotFound(1, "/v/t/r/a.m4s"));
        Assert.Equal(0, cache.Count);
        Assert.Equal(0, cache.Bytes);
    }

    [Fact]
    public void ACollidingKey_ForAnotherPath_IsNotAnswered404()
    {
        var cache = new NotFoundCache(TimeSpan.FromSeconds(10), 100, 1 << 20, _time);
        cache.Add(7, "/v/t/r/missing.m4s");
        Assert.False(cache.IsNotFound(7, "/v/t/r/present.m4s"));
        Assert.True(cache.IsNotFound(7, "/v/t/r/missing.m4s"));
    }

    [Fact]
    public void AFloodOfUniqueNames_KeepsTheEntryCountBounded_ForgettingTheOldest()
    {
        var cache = new NotFoundCache(TimeSpan.FromMinutes(10), 1000, long.MaxValue, _time);
        for (var i = 0UL; i < 50_000; i++)
        {
            cache.Add(i, $"/v/flood/r/{i}.m4s");
        }

        Assert.Equal(1000, cache.Count);
        Assert.False(cache.IsNotFound(0, "/v/flood/r/0.m4s"));
        Assert.False(cache.IsNotFound(48_999, "/v/flood/r/48999.m4s"));
        Assert.True(cache.IsNotFound(49_000, "/v/flood/r/49000.m4s"));
        Assert.True(cache.IsNotFound(49_999, "/v/flood/r/49999.m4s"));
    }

    [Fact]
    public void LongNames_AreBoundedByBytes()
    {
        var perEntry = NotFoundCache.EntryOverheadBytes + (2 * 1000);
        var cache = new NotFoundCache(TimeSpan.FromMinutes(10), 1_000_000, perEntry * 10L, _time);
        var filler = new string('x', 1000 - "/v/t/r/".Length - 5);
        for (var i = 0UL; i < 500; i++)
        {
            cache.Add(i, $"/v/t/r/{filler}{i:D5}");
        }

        Assert.Equal(10, cache.Count);
        Assert.Equal(perEntry * 10L, cache.Bytes);
        Assert.True(cache.IsNotFound(499, $"/v/t/r/{filler}{499:D5}"));
    }

    [Fact]
    public void ExpiredEntries_LeaveAsNewOnesArrive()
    {
        var cache = new NotFoundCache(TimeSpan.FromSeconds(1), 1000, long.MaxValue, _time);
        for (var i = 0UL; i < 100; i++)
        {
            cache.Add(i, $"/v/t/r/{i}.m4s");
        }

        _time.Advance(TimeSpan.FromSeconds(2));
        cache.Add(1000, "/v/t/r/new.m4s");
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void AZeroTtl_RemembersNothing()
    {
        var cache = new NotFoundCache(TimeSpan.Zero, 1000, long.MaxValue, _time);
        cache.Add(1, "/v/t/r/a.m4s");
        Assert.False(cache.IsNotFound(1, "/v/t/r/a.m4s"));
        Assert.Equal(0, cache.Count);
    }
}
