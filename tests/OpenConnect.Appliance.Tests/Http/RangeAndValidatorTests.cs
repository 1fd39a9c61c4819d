using System.Text;
using OpenConnect.Appliance.Http;
using OpenConnect.Contracts.Content;

namespace OpenConnect.Appliance.Tests.Http;

public sealed class RangeAndValidatorTests
{
    [Theory]
    [InlineData("bytes=0-99", 1000, RangeKind.Satisfiable, 0, 100)]
    [InlineData("bytes=900-", 1000, RangeKind.Satisfiable, 900, 100)]
    [InlineData("bytes=900-5000", 1000, RangeKind.Satisfiable, 900, 100)]
    [InlineData("bytes=-100", 1000, RangeKind.Satisfiable, 900, 100)]
    [InlineData("bytes=-5000", 1000, RangeKind.Satisfiable, 0, 1000)]
    [InlineData("bytes=999-999", 1000, RangeKind.Satisfiable, 999, 1)]
    [InlineData("BYTES=1-1", 1000, RangeKind.Satisfiable, 1, 1)]
    [InlineData("bytes=1000-", 1000, RangeKind.Unsatisfiable, 0, 0)]
    [InlineData("bytes=5000-6000", 1000, RangeKind.Unsatisfiable, 0, 0)]
    [InlineData("bytes=-0", 1000, RangeKind.Unsatisfiable, 0, 0)]
    [InlineData("bytes=0-", 0, RangeKind.Unsatisfiable, 0, 0)]
    [InlineData("bytes=10-5", 1000, RangeKind.None, 0, 0)]
    [InlineData("bytes=0-1,5-6", 1000, RangeKind.None, 0, 0)]
    [InlineData("items=0-1", 1000, RangeKind.None, 0, 0)]
    [InlineData("bytes=a-b", 1000, RangeKind.None, 0, 0)]
    [InlineData("bytes=-", 1000, RangeKind.None, 0, 0)]
    [InlineData("bytes=+1-2", 1000, RangeKind.None, 0, 0)]
    [InlineData("bytes=99999999999999999999-", 1000, RangeKind.None, 0, 0)]
    [InlineData("", 1000, RangeKind.None, 0, 0)]
    public void ByteRange_Parse(string header, long length, RangeKind kind, long start, long count)
    {
        var range = ByteRange.Parse(Encoding.ASCII.GetBytes(header), length);
        Assert.Equal(kind, range.Kind);
        if (kind == RangeKind.Satisfiable)
        {
            Assert.Equal(start, range.Start);
            Assert.Equal(count, range.Length);
        }
    }

    private static readonly DateTimeOffset Modified = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("\"abc\"", "", ConditionalOutcome.NotModified)]
    [InlineData("W/\"abc\"", "", ConditionalOutcome.NotModified)]
    [InlineData("\"x\", \"abc\"", "", ConditionalOutcome.NotModified)]
    [InlineData("*", "", ConditionalOutcome.NotModified)]
    [InlineData("\"x\"", "", ConditionalOutcome.Serve)]
    [InlineData("\"x\"", "Sun, 01 Nov 2026 12:00:00 GMT", ConditionalOutcome.Serve)] // If-None-Match wins
    [InlineData("", "Sun, 01 Nov 2026 12:00:00 GMT", ConditionalOutcome.NotModified)]
    [InlineData("", "Mon, 02 Nov 2026 12:00:00 GMT", ConditionalOutcome.NotModified)]
    [InlineData("", "Sat, 31 Oct 2026 12:00:00 GMT", ConditionalOutcome.Serve)]
    [InlineData("", "yesterday", ConditionalOutcome.Serve)]
    [InlineData("", "", ConditionalOutcome.Serve)]
    public void Validators_Evaluate(string ifNoneMatch, string ifModifiedSince, ConditionalOutcome expected)
    {
        Assert.Equal(expected, Validators.Evaluate(Encoding.ASCII.GetBytes(ifNoneMatch), Encoding.ASCII.GetBytes(ifModifiedSince), "\"abc\"", Modified.AddMilliseconds(400)));
    }

    [Theory]
    [InlineData("", true)]
    [InlineData("\"abc\"", true)]
    [InlineData("W/\"abc\"", false)] // weak validators never satisfy If-Range
    [InlineData("\"other\"", false)]
    [InlineData("Sun, 01 Nov 2026 12:00:00 GMT", true)]
    [InlineData("Sun, 01 Nov 2026 12:00:01 GMT", false)]
    [InlineData("garbage", false)]
    public void Validators_IfRange(string ifRange, bool allows)
    {
        Assert.Equal(allows, Validators.IfRangeAllowsRange(Encoding.ASCII.GetBytes(ifRange), "\"abc\"", Modified));
    }

    [Theory]
    [InlineData("a.m3u8", "application/vnd.apple.mpegurl", ContentTypes.ManifestCacheControl)]
    [InlineData("manifest.mpd", "application/dash+xml", ContentTypes.ManifestCacheControl)]
    [InlineData("seg-1.m4s", "video/iso.segment", ContentTypes.ImmutableCacheControl)]
    [InlineData("init.mp4", "video/mp4", ContentTypes.ImmutableCacheControl)]
    [InlineData("audio.m4a", "audio/mp4", ContentTypes.ImmutableCacheControl)]
    [InlineData("seg.ts", "video/mp2t", ContentTypes.ImmutableCacheControl)]
    [InlineData("subs.vtt", "text/vtt; charset=utf-8", ContentTypes.ImmutableCacheControl)]
    [InlineData("thumb.JPG", "image/jpeg", ContentTypes.ImmutableCacheControl)]
    [InlineData("blob", "application/octet-stream", ContentTypes.ImmutableCacheControl)]
    public void ContentTypes_ByExtension(string file, string type, string cacheControl)
    {
        Assert.Equal(type, ContentTypes.For(file));
        Assert.Equal(cacheControl, ContentTypes.CacheControlFor(file));
    }
}
