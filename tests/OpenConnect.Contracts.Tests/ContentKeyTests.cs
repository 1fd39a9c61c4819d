using OpenConnect.Contracts.Content;

namespace OpenConnect.Contracts.Tests;

public sealed class ContentKeyTests
{
    [Theory]
    [InlineData("/v/abc123/720p/seg-00001.m4s", "abc123", "720p", "seg-00001.m4s")]
    [InlineData("/v/abc_123-X/h264-1080p/init.mp4", "abc_123-X", "h264-1080p", "init.mp4")]
    [InlineData("/v/t1/master.m3u8", "t1", null, "master.m3u8")]
    [InlineData("/v/t1/manifest.mpd", "t1", null, "manifest.mpd")]
    public void TryParse_ValidPath_ReturnsPartsAndRoundTrips(string path, string title, string? rendition, string file)
    {
        Assert.True(ContentKey.TryParse(path, out var key));
        Assert.Equal(title, key.TitleId);
        Assert.Equal(rendition, key.Rendition);
        Assert.Equal(file, key.FileName);
        Assert.Equal(path, key.Path);
        Assert.Equal(path[ContentKey.Prefix.Length..], key.RelativePath);
    }

    [Theory]
    [InlineData("")]
    [InlineData("/")]
    [InlineData("/v/")]
    [InlineData("/v/t1")]
    [InlineData("/v/t1/")]
    [InlineData("/x/t1/a.m4s")]
    [InlineData("/v/../etc/passwd")]
    [InlineData("/v/t1/../../etc/passwd")]
    [InlineData("/v/t1/720p/../x.m4s")]
    [InlineData("/v/t1/720p/..")]
    [InlineData("/v/t1/720p/.hidden")]
    [InlineData("/v/t1/720p/a..m4s")]
    [InlineData("/v/t1/720p/sub/a.m4s")]
    [InlineData("/v/t1//a.m4s")]
    [InlineData("/v/t1/720P/a.m4s")]
    [InlineData("/v/t1/720p/a%2F..%2Fb")]
    [InlineData("/v/t1/720p/a\\b")]
    [InlineData("/v/t 1/720p/a.m4s")]
    [InlineData("/v/t1/720p/a\0.m4s")]
    [InlineData("/v/t1/720p/é.m4s")]
    public void TryParse_HostileOrMalformedPath_IsRejected(string path)
    {
        Assert.False(ContentKey.TryParse(path, out _));
    }

    [Fact]
    public void TryParse_OverlongSegments_AreRejected()
    {
        Assert.False(ContentKey.TryParse("/v/" + new string('a', ContentKey.MaxTitleIdLength + 1) + "/x.m4s", out _));
        Assert.False(ContentKey.TryParse("/v/t/" + new string('a', ContentKey.MaxRenditionLength + 1) + "/x.m4s", out _));
        Assert.False(ContentKey.TryParse("/v/t/r/" + new string('a', ContentKey.MaxFileNameLength + 1), out _));
        Assert.True(ContentKey.TryParse("/v/" + new string('a', ContentKey.MaxTitleIdLength) + "/r/" + new string('b', ContentKey.MaxFileNameLength), out _));
    }

    [Fact]
    public void Factories_ValidateTheirArguments()
    {
        Assert.Equal("/v/t1/360p/seg-1.m4s", ContentKey.ForRenditionFile("t1", "360p", "seg-1.m4s").Path);
        Assert.Equal("/v/t1/master.m3u8", ContentKey.ForTitleFile("t1", "master.m3u8").Path);
        Assert.Throws<ArgumentException>(() => ContentKey.ForTitleFile("t/1", "a.mpd"));
        Assert.Throws<ArgumentException>(() => ContentKey.ForTitleFile("t1", ".."));
        Assert.Throws<ArgumentException>(() => ContentKey.ForRenditionFile("t1", "../x", "a.m4s"));
    }
}
