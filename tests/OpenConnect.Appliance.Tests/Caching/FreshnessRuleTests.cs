using System.Text;
using OpenConnect.Appliance.Caching;
using OpenConnect.Appliance.Http;
using OpenConnect.Contracts.Content;

namespace OpenConnect.Appliance.Tests.Caching;

/// <summary>Which objects revalidate and for how long a copy is fresh; what players are told.</summary>
public sealed class FreshnessRuleTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(5);
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    // Playlists by extension: the parent's max-age, else the configured TTL; no-cache means zero.
    [InlineData("/v/t/master.m3u8", null, 5)]
    [InlineData("/v/t/720p/index.m3u8", "public, max-age=10", 10)]
    [InlineData("/v/t/manifest.mpd", "public, max-age=0", 0)]
    [InlineData("/v/t/manifest.mpd", "no-cache", 0)]
    [InlineData("/v/t/master.m3u8", "public, max-age=60, s-maxage=3", 3)]
    [InlineData("/v/t/master.m3u8", "public, max-age=abc", 5)]
    [InlineData("/v/t/master.m3u8", "public, max-age=31536000, immutable", 86400)]
    // Anything a parent marks without immutable is changeable too.
    [InlineData("/v/t/integrity.json", "public, max-age=10", 10)]
    [InlineData("/v/t/poster.jpg", "public, max-age=3600", 3600)]
    public void Changeable_HasALifetime(string path, string? cacheControl, int seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), FreshnessRule.LifetimeFor(path, cacheControl, Ttl));
    }

    [Theory]
    // Segments and init segments stay immutable whatever the parent says.
    [InlineData("/v/t/720p/seg-00001.m4s", null)]
    [InlineData("/v/t/720p/seg-00001.m4s", "public, max-age=10")]
    [InlineData("/v/t/720p/init.mp4", "no-cache")]
    [InlineData("/v/t/720p/seg-00001.ts", "public, max-age=10")]
    [InlineData("/v/t/audio/init.m4a", null)]
    // Other objects: immutable when the parent says so, or says nothing.
    [InlineData("/v/t/poster.jpg", null)]
    [InlineData("/v/t/poster.jpg", "public, max-age=31536000, immutable")]
    public void Immutable_HasNoLifetime(string path, string? cacheControl)
    {
        Assert.Null(FreshnessRule.LifetimeFor(path, cacheControl, Ttl));
    }

    [Fact]
    public void MaxAge_IsCappedAtADay()
    {
        Assert.Equal(FreshnessRule.MaxLifetime, FreshnessRule.LifetimeFor("/v/t/a.m3u8", "max-age=99999999999", Ttl));
    }

    [Fact]
    public void ObjectInfo_IsFreshUntilItsLifetimeEnds_AndARefreshExtendsIt()
    {
        var info = new ObjectInfo("/v/t/master.m3u8", 10, "\"e\"", T0, "application/vnd.apple.mpegurl", ContentTypes.ManifestCacheControl, Ttl, T0 + Ttl);

        Assert.False(info.IsImmutable);
        Assert.False(info.IsStaleAt(T0 + TimeSpan.FromSeconds(4.9)));
        Assert.True(info.IsStaleAt(T0 + Ttl));
        Assert.Equal(3, info.RemainingSeconds(T0 + TimeSpan.FromSeconds(1.5)));
        Assert.Equal(0, info.RemainingSeconds(T0 + TimeSpan.FromSeconds(9)));
        Assert.Equal("public, max-age=0", info.CacheControlAt(T0 + TimeSpan.FromSeconds(9)));

        info.Refresh(T0 + TimeSpan.FromSeconds(9), TimeSpan.FromSeconds(10));
        Assert.False(info.IsStaleAt(T0 + TimeSpan.FromSeconds(18)));
        Assert.True(info.IsStaleAt(T0 + TimeSpan.FromSeconds(19)));
        Assert.Equal("public, max-age=10", info.CacheControlAt(T0 + TimeSpan.FromSeconds(9)));
    }

    [Fact]
    public void ObjectInfo_Immutable_IsNeverStale()
    {
        var info = new ObjectInfo("/v/t/720p/seg-1.m4s", 10, "\"e\"", T0, "video/iso.segment", ContentTypes.ImmutableCacheControl);
        Assert.True(info.IsImmutable);
        Assert.False(info.IsStaleAt(DateTimeOffset.MaxValue));
        Assert.Equal(ContentTypes.ImmutableCacheControl, info.CacheControlAt(T0));
    }

    [Fact]
    public void WriteHead_ForAPlaylist_SendsTheRemainingFreshness_NeverImmutable()
    {
        var info = new ObjectInfo("/v/t/master.m3u8", 10, "\"e\"", T0, "application/vnd.apple.mpegurl", ContentTypes.ManifestCacheControl, Ttl, T0 + Ttl);
        var plan = new ResponsePlan(200, 0, 10, true);
        var buffer = new byte[4096];

        var head = Encoding.ASCII.GetString(buffer, 0, ResponsePlanner.WriteHead(buffer, plan, info, null, keepAlive: true, "d"u8, now: T0 + TimeSpan.FromSeconds(2)));

        Assert.Contains("\r\nCache-Control: public, max-age=3\r\n", head);
        Assert.Equal(2, head.Split("Cache-Control:").Length);
        Assert.DoesNotContain("immutable", head);
        Assert.Contains("\r\nETag: \"e\"\r\n", head);
    }

    [Fact]
    public void WriteHead_ForASegment_KeepsImmutable()
    {
        var info = new ObjectInfo("/v/t/720p/seg-1.m4s", 10, "\"e\"", T0, "video/iso.segment", ContentTypes.ImmutableCacheControl);
        var buffer = new byte[4096];
        var head = Encoding.ASCII.GetString(buffer, 0, ResponsePlanner.WriteHead(buffer, new ResponsePlan(200, 0, 10, true), info, null, keepAlive: true, "d"u8, now: T0));
        Assert.Contains("\r\nCache-Control: public, max-age=31536000, immutable\r\n", head);
    }
}
