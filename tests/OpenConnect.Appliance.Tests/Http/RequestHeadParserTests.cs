using System.Text;
using OpenConnect.Appliance.Http;

namespace OpenConnect.Appliance.Tests.Http;

public sealed class RequestHeadParserTests
{
    private const int MaxLine = 256;
    private const int MaxHeaders = 1024;
    private const int MaxCount = 10;

    private static ParseStatus Parse(string raw, out int consumed, out string path, out bool keepAlive, out RequestMethod method)
    {
        var bytes = Encoding.Latin1.GetBytes(raw);
        var status = RequestHeadParser.TryParse(bytes, MaxLine, MaxHeaders, MaxCount, out var head, out consumed);
        path = Encoding.ASCII.GetString(head.Path);
        keepAlive = head.KeepAlive;
        method = head.Method;
        return status;
    }

    [Theory]
    [InlineData("GET /v/t/720p/a.m4s HTTP/1.1\r\nHost: x\r\n\r\n", "/v/t/720p/a.m4s", true, RequestMethod.Get)]
    [InlineData("HEAD /v/t/a.mpd?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "/v/t/a.mpd", false, RequestMethod.Head)]
    [InlineData("GET / HTTP/1.0\r\n\r\n", "/", false, RequestMethod.Get)]
    [InlineData("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "/", true, RequestMethod.Get)]
    [InlineData("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", "*", true, RequestMethod.Options)]
    [InlineData("DELETE /v/t/a.m4s HTTP/1.1\r\nHost: x\r\n\r\n", "/v/t/a.m4s", true, RequestMethod.Other)]
    [InlineData("GET / HTTP/1.1\r\nhOsT:   x  \r\nConnection: foo, close\r\n\r\n", "/", false, RequestMethod.Get)]
    public void Parses_ValidHeads(string raw, string path, bool keepAlive, RequestMethod method)
    {
        Assert.Equal(ParseStatus.Complete, Parse(raw, out var consumed, out var p, out var k, out var m));
        Assert.Equal(raw.Length, consumed);
        Assert.Equal(path, p);
        Assert.Equal(keepAlive, k);
        Assert.Equal(method, m);
    }

    [Fact]
    public void Parses_OnlyTheFirstHead_OfPipelinedRequests()
    {
        const string first = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
        Assert.Equal(ParseStatus.Complete, Parse(first + "GET /b HTTP/1.1\r\nHost: x\r\n\r\n", out var consumed, out var path, out _, out _));
        Assert.Equal(first.Length, consumed);
        Assert.Equal("/a", path);
    }

    [Fact]
    public void Extracts_ConditionalAndRangeHeaders()
    {
        var raw = Encoding.ASCII.GetBytes("GET /a HTTP/1.1\r\nHost: h\r\nRange: bytes=0-9\r\nIf-None-Match: \"e\"\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\nIf-Range: \"e\"\r\nOrigin: https://p.example\r\nAccess-Control-Request-Method: GET\r\n\r\n");
        Assert.Equal(ParseStatus.Complete, RequestHeadParser.TryParse(raw, MaxLine, MaxHeaders, MaxCount, out var head, out _));
        Assert.Equal("bytes=0-9", Encoding.ASCII.GetString(head.Range));
        Assert.Equal("\"e\"", Encoding.ASCII.GetString(head.IfNoneMatch));
        Assert.Equal("Sun, 06 Nov 1994 08:49:37 GMT", Encoding.ASCII.GetString(head.IfModifiedSince));
        Assert.Equal("\"e\"", Encoding.ASCII.GetString(head.IfRange));
        Assert.Equal("https://p.example", Encoding.ASCII.GetString(head.Origin));
        Assert.Equal("GET", Encoding.ASCII.GetString(head.AccessControlRequestMethod));
        Assert.False(head.HasBody);
        Assert.True(head.Traceparent.IsEmpty);
    }

    [Fact]
    public void Extracts_TraceContextHeaders_WithoutTouchingConnection()
    {
        var raw = Encoding.ASCII.GetBytes("GET /a HTTP/1.1\r\nHost: h\r\nTraceParent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\ntracestate: congo=t61rcWkgMzE\r\nConnection: close\r\n\r\n");
        Assert.Equal(ParseStatus.Complete, RequestHeadParser.TryParse(raw, MaxLine, MaxHeaders, MaxCount, out var head, out _));
        Assert.Equal("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", Encoding.ASCII.GetString(head.Traceparent));
        Assert.Equal("congo=t61rcWkgMzE", Encoding.ASCII.GetString(head.Tracestate));
        Assert.True(head.ConnectionClose);
    }

    [Theory]
    [InlineData("GET /a HTTP/1.1\r\nHost: x\r\n")]
    [InlineData("GET /a HTTP/1.1\r\n")]
    [InlineData("GET /a HT")]
    [InlineData("")]
    public void Incomplete_WhenTheHeadHasNotEnded(string raw)
    {
        Assert.Equal(ParseStatus.Incomplete, Parse(raw, out _, out _, out _, out _));
    }

    [Theory]
    [InlineData("GET /a HTTP/1.1\r\n\r\n")] // no Host in HTTP/1.1
    [InlineData("GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")]
    [InlineData("GET /a HTTP/1.1\nHost: x\n\n")] // bare LF
    [InlineData("GET /a HTTP/1.1\r\nHost : x\r\n\r\n")] // space before colon
    [InlineData("GET /a HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n")] // obs-fold
    [InlineData("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("GET a HTTP/1.1\r\nHost: x\r\n\r\n")] // not origin-form
    [InlineData("G(T /a HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData(" GET /a HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("GET /a\u0001 HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("GET /\u00e9 HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("GET /a HTTP/1.1\r\nHost: x\u0000y\r\n\r\n")]
    [InlineData("GET /a HTTP/1.1\r\nContent-Length: ten\r\nHost: x\r\n\r\n")]
    [InlineData("GET /a FTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("GET /a HTTP/1.1\r\n: x\r\nHost: x\r\n\r\n")]
    [InlineData("\r\n\r\n")]
    public void BadRequest_ForMalformedOrAmbiguousHeads(string raw)
    {
        Assert.Equal(ParseStatus.BadRequest, Parse(raw, out _, out _, out _, out _));
    }

    [Theory]
    [InlineData("GET /a HTTP/2.0\r\nHost: x\r\n\r\n")]
    [InlineData("GET /a HTTP/1.2\r\nHost: x\r\n\r\n")]
    public void VersionNotSupported_ForOtherHttpVersions(string raw)
    {
        Assert.Equal(ParseStatus.VersionNotSupported, Parse(raw, out _, out _, out _, out _));
    }

    [Fact]
    public void UriTooLong_WhenTheRequestLineExceedsTheLimit_EvenBeforeItEnds()
    {
        var longPath = "/" + new string('a', MaxLine);
        Assert.Equal(ParseStatus.UriTooLong, Parse($"GET {longPath} HTTP/1.1\r\nHost: x\r\n\r\n", out _, out _, out _, out _));
        Assert.Equal(ParseStatus.UriTooLong, Parse($"GET {longPath}", out _, out _, out _, out _));
    }

    [Fact]
    public void HeadersTooLarge_WhenHeaderBytesOrCountExceedTheLimit()
    {
        var big = "GET /a HTTP/1.1\r\nHost: x\r\nX-Big: " + new string('b', MaxHeaders) + "\r\n\r\n";
        Assert.Equal(ParseStatus.HeadersTooLarge, Parse(big, out _, out _, out _, out _));
        var unterminated = "GET /a HTTP/1.1\r\nHost: x\r\nX-Big: " + new string('b', MaxHeaders + MaxLine);
        Assert.Equal(ParseStatus.HeadersTooLarge, Parse(unterminated, out _, out _, out _, out _));
        var many = "GET /a HTTP/1.1\r\nHost: x\r\n" + string.Concat(Enumerable.Range(0, MaxCount).Select(i => $"X-{i}: v\r\n")) + "\r\n";
        Assert.Equal(ParseStatus.HeadersTooLarge, Parse(many, out _, out _, out _, out _));
    }

    [Theory]
    [InlineData("Content-Length: 5", true)]
    [InlineData("Content-Length: 0", false)]
    [InlineData("Transfer-Encoding: chunked", true)]
    public void Detects_RequestBodies(string header, bool hasBody)
    {
        var raw = Encoding.ASCII.GetBytes($"GET /a HTTP/1.1\r\nHost: x\r\n{header}\r\n\r\n");
        Assert.Equal(ParseStatus.Complete, RequestHeadParser.TryParse(raw, MaxLine, MaxHeaders, MaxCount, out var head, out _));
        Assert.Equal(hasBody, head.HasBody);
    }
}
