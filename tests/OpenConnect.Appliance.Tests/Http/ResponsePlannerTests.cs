using System.Text;
using OpenConnect.Appliance.Caching;
using OpenConnect.Appliance.Http;
using OpenConnect.Contracts.Content;

namespace OpenConnect.Appliance.Tests.Http;

public sealed class ResponsePlannerTests
{
    private static readonly ObjectInfo Segment = new("/v/t/r/a.m4s", 1000, "\"e1\"", new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero), "video/iso.segment", ContentTypes.ImmutableCacheControl);

    private static ResponsePlan Plan(RequestMethod method, string range = "", string inm = "", string ims = "", string ifRange = "") =>
        ResponsePlanner.Plan(method, Encoding.ASCII.GetBytes(range), Encoding.ASCII.GetBytes(inm), Encoding.ASCII.GetBytes(ims), Encoding.ASCII.GetBytes(ifRange), Segment);

    [Theory]
    [InlineData("", "", "", 200, 0, 1000)]
    [InlineData("bytes=10-19", "", "", 206, 10, 10)]
    [InlineData("bytes=2000-", "", "", 416, 0, 0)]
    [InlineData("bytes=10-19", "\"e1\"", "", 304, 0, 0)]
    [InlineData("bytes=10-19", "", "\"e1\"", 206, 10, 10)]
    [InlineData("bytes=10-19", "", "\"stale\"", 200, 0, 1000)]
    public void Plan_ChoosesStatusAndWindow(string range, string inm, string ifRange, int status, long start, long length)
    {
        var plan = Plan(RequestMethod.Get, range, inm, ifRange: ifRange);
        Assert.Equal(status, plan.Status);
        Assert.Equal(start, plan.BodyStart);
        Assert.Equal(length, plan.BodyLength);
        Assert.Equal(status is 200 or 206, plan.SendBody);
    }

    [Fact]
    public void Plan_HeadNeverSendsABody()
    {
        Assert.False(Plan(RequestMethod.Head).SendBody);
        Assert.False(Plan(RequestMethod.Head, "bytes=0-1").SendBody);
    }

    [Fact]
    public void WriteHead_For206_HasContentRangeLengthValidatorsAndCors()
    {
        var plan = Plan(RequestMethod.Get, "bytes=10-19");
        var buffer = new byte[4096];
        var n = ResponsePlanner.WriteHead(buffer, plan, Segment, "https://p.example", keepAlive: true, "Sun, 01 Nov 2026 12:00:00 GMT"u8);
        var head = Encoding.ASCII.GetString(buffer, 0, n);
        Assert.StartsWith("HTTP/1.1 206 Partial Content\r\n", head);
        Assert.EndsWith("\r\n\r\n", head);
        Assert.Contains("\r\nContent-Range: bytes 10-19/1000\r\n", head);
        Assert.Contains("\r\nContent-Length: 10\r\n", head);
        Assert.Contains("\r\nContent-Type: video/iso.segment\r\n", head);
        Assert.Contains("\r\nETag: \"e1\"\r\n", head);
        Assert.Contains("\r\nLast-Modified: Sun, 01 Nov 2026 12:00:00 GMT\r\n", head);
        Assert.Contains("\r\nAccept-Ranges: bytes\r\n", head);
        Assert.Contains("\r\nAccess-Control-Allow-Origin: https://p.example\r\n", head);
        Assert.Contains("\r\nAccess-Control-Expose-Headers: Content-Range, Content-Length, ETag, Accept-Ranges\r\n", head);
        Assert.Contains("\r\nVary: Origin\r\n", head);
        Assert.DoesNotContain("Connection: close", head);
    }

    [Fact]
    public void WriteHead_For416_SaysStarSlashLength()
    {
        var plan = Plan(RequestMethod.Get, "bytes=5000-");
        var buffer = new byte[4096];
        var head = Encoding.ASCII.GetString(buffer, 0, ResponsePlanner.WriteHead(buffer, plan, Segment, null, keepAlive: false, "d"u8));
        Assert.StartsWith("HTTP/1.1 416 Range Not Satisfiable\r\n", head);
        Assert.Contains("\r\nContent-Range: bytes */1000\r\n", head);
        Assert.Contains("\r\nContent-Length: 0\r\n", head);
        Assert.Contains("\r\nConnection: close\r\n", head);
        Assert.DoesNotContain("Access-Control", head);
    }

    [Fact]
    public void WriteStatus_HasTextBodyExceptForHead()
    {
        var buffer = new byte[4096];
        var get = Encoding.ASCII.GetString(buffer, 0, ResponsePlanner.WriteStatus(buffer, 404, "not found"u8, isHead: false, "*", true, "d"u8));
        Assert.StartsWith("HTTP/1.1 404 Not Found\r\n", get);
        Assert.Contains("Content-Length: 10\r\n", get);
        Assert.EndsWith("\r\n\r\nnot found\n", get);
        var head = Encoding.ASCII.GetString(buffer, 0, ResponsePlanner.WriteStatus(buffer, 404, "not found"u8, isHead: true, "*", true, "d"u8));
        Assert.EndsWith("Content-Length: 10\r\n\r\n", head);
    }

    [Fact]
    public void Cors_AllowList_EchoesOnlyListedOrigins()
    {
        var cors = new CorsPolicy(["https://a.example", "https://b.example/"]);
        Assert.Equal("https://a.example", cors.AllowOriginFor("https://a.example"u8));
        Assert.Equal("https://b.example", cors.AllowOriginFor("https://b.example"u8));
        Assert.Null(cors.AllowOriginFor("https://evil.example"u8));
        Assert.Null(cors.AllowOriginFor(default));
        Assert.Equal("*", new CorsPolicy(["*"]).AllowOriginFor("https://any.example"u8));
    }
}
