using OpenConnect.Appliance.Caching;

namespace OpenConnect.Appliance.Http;

/// <summary>The status and body window chosen for one GET/HEAD of an object.</summary>
public readonly record struct ResponsePlan(int Status, long BodyStart, long BodyLength, bool SendBody);

/// <summary>
/// Pure decisions for a GET or HEAD of a known object: conditional requests first (304), then
/// If-Range and Range (206 or 416), else 200; and the exact response head for the decision.
/// </summary>
public static class ResponsePlanner
{
    public static ResponsePlan Plan(RequestMethod method, ReadOnlySpan<byte> range, ReadOnlySpan<byte> ifNoneMatch, ReadOnlySpan<byte> ifModifiedSince, ReadOnlySpan<byte> ifRange, ObjectInfo obj)
    {
        if (Validators.Evaluate(ifNoneMatch, ifModifiedSince, obj.ETag, obj.LastModified) == ConditionalOutcome.NotModified)
        {
            return new ResponsePlan(304, 0, 0, false);
        }

        var byteRange = !range.IsEmpty && Validators.IfRangeAllowsRange(ifRange, obj.ETag, obj.LastModified)
            ? ByteRange.Parse(range, obj.Length)
            : ByteRange.None;
        var sendBody = method == RequestMethod.Get;
        return byteRange.Kind switch
        {
            RangeKind.Satisfiable => new ResponsePlan(206, byteRange.Start, byteRange.Length, sendBody),
            RangeKind.Unsatisfiable => new ResponsePlan(416, 0, 0, false),
            _ => new ResponsePlan(200, 0, obj.Length, sendBody),
        };
    }

    /// <summary>
    /// Writes the head for <paramref name="plan"/>; returns the number of bytes written.
    /// <paramref name="extraHeaders"/>: complete header lines to add (the <c>Cache-Status</c> line).
    /// <paramref name="now"/>: for an object that can change (a playlist), its <c>Cache-Control</c> carries
    /// the freshness left at this time (none given: <c>max-age=0</c>), never <c>immutable</c>.
    /// </summary>
    public static int WriteHead(Span<byte> buffer, in ResponsePlan plan, ObjectInfo obj, string? allowOrigin, bool keepAlive, ReadOnlySpan<byte> date, ReadOnlySpan<byte> extraHeaders = default, DateTimeOffset? now = null)
    {
        var w = new ResponseHeadWriter(buffer);
        w.StatusLine(plan.Status);
        w.Header("Date"u8, date);
        WriteCors(ref w, allowOrigin);
        w.Append(obj.StaticHeaders);
        if (!obj.IsImmutable)
        {
            w.Header("Cache-Control"u8, "public, max-age="u8, now is { } at ? obj.RemainingSeconds(at) : 0);
        }

        switch (plan.Status)
        {
            case 304:
                break;
            case 416:
                w.UnsatisfiedContentRange(obj.Length);
                w.Header("Content-Length"u8, 0);
                break;
            case 206:
                w.Append(obj.ContentTypeHeader);
                w.ContentRange(plan.BodyStart, plan.BodyStart + plan.BodyLength - 1, obj.Length);
                w.Header("Content-Length"u8, plan.BodyLength);
                break;
            default:
                w.Append(obj.ContentTypeHeader);
                w.Header("Content-Length"u8, plan.BodyLength);
                break;
        }

        if (!extraHeaders.IsEmpty)
        {
            w.Append(extraHeaders);
        }

        WriteConnection(ref w, keepAlive);
        w.End();
        return w.Written;
    }

    /// <summary>An error or empty response with a short text body (omitted for HEAD).</summary>
    public static int WriteStatus(Span<byte> buffer, int status, ReadOnlySpan<byte> message, bool isHead, string? allowOrigin, bool keepAlive, ReadOnlySpan<byte> date, ReadOnlySpan<byte> extraHeaders = default)
    {
        var w = new ResponseHeadWriter(buffer);
        w.StatusLine(status);
        w.Header("Date"u8, date);
        WriteCors(ref w, allowOrigin);
        if (!extraHeaders.IsEmpty)
        {
            w.Append(extraHeaders);
        }

        if (status == 204 || status == 304)
        {
            WriteConnection(ref w, keepAlive);
            w.End();
            return w.Written;
        }

        w.Header("Content-Type"u8, "text/plain; charset=utf-8"u8);
        w.Header("Cache-Control"u8, "no-store"u8);
        w.Header("Content-Length"u8, message.Length + 1);
        WriteConnection(ref w, keepAlive);
        w.End();
        if (!isHead)
        {
            w.Append(message);
            w.Append("\n"u8);
        }

        return w.Written;
    }

    /// <summary>A CORS preflight (or plain OPTIONS) answer: 204, no cache access.</summary>
    public static int WritePreflight(Span<byte> buffer, string? allowOrigin, bool keepAlive, ReadOnlySpan<byte> date)
    {
        var w = new ResponseHeadWriter(buffer);
        w.StatusLine(204);
        w.Header("Date"u8, date);
        w.Header("Allow"u8, CorsPolicy.AllowedMethods);
        if (allowOrigin is not null)
        {
            w.Header("Access-Control-Allow-Origin"u8, allowOrigin);
            w.Header("Access-Control-Allow-Methods"u8, CorsPolicy.AllowedMethods);
            w.Header("Access-Control-Allow-Headers"u8, CorsPolicy.AllowedHeaders);
            w.Header("Access-Control-Max-Age"u8, 86400);
            if (allowOrigin != "*")
            {
                w.Header("Vary"u8, "Origin"u8);
            }
        }

        WriteConnection(ref w, keepAlive);
        w.End();
        return w.Written;
    }

    private static void WriteCors(ref ResponseHeadWriter w, string? allowOrigin)
    {
        if (allowOrigin is null)
        {
            return;
        }

        w.Header("Access-Control-Allow-Origin"u8, allowOrigin);
        w.Header("Access-Control-Expose-Headers"u8, CorsPolicy.ExposedHeaders);
        if (allowOrigin != "*")
        {
            w.Header("Vary"u8, "Origin"u8);
        }
    }

    private static void WriteConnection(ref ResponseHeadWriter w, bool keepAlive)
    {
        if (!keepAlive)
        {
            w.Header("Connection"u8, "close"u8);
        }
    }
}
