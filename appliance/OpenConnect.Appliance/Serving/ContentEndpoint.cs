using System.Text;
using OpenConnect.Appliance.Caching;
using OpenConnect.Appliance.Control;
using OpenConnect.Appliance.Http;
using OpenConnect.Contracts.Content;
using OpenConnect.Contracts.Security;
using OpenConnect.Hosting;
using OpenConnect.Hosting.Tracing;

namespace OpenConnect.Appliance.Serving;

/// <summary>
/// Content requests that reach ASP.NET Core instead of <see cref="SegmentServer"/>: HTTPS (TLS
/// terminates in Kestrel, so there is no zero-copy path), the parent listener (fleet TLS, unsigned
/// <c>/v/…</c> for appliances' certificates) and connections already handed to Kestrel.
/// Same cache, same decisions (<see cref="ResponsePlanner"/>); bodies are copied through Kestrel's
/// output pipe.
/// </summary>
public static class ContentEndpoint
{
    public static void MapContent(this WebApplication app)
    {
        foreach (var pattern in (string[])["/v/{**rest}", "/s/{token}/v/{**rest}"])
        {
            app.MapMethods(pattern, ["GET", "HEAD"], ServeAsync);
            app.MapMethods(pattern, ["OPTIONS"], Preflight);
            app.MapMethods(pattern, ["POST", "PUT", "DELETE", "PATCH"], (HttpContext context) =>
            {
                context.Response.Headers.Allow = CorsPolicy.AllowedMethods;
                return Results.Text("only GET, HEAD and OPTIONS are allowed\n", statusCode: 405);
            });
        }
    }

    private static IResult Preflight(HttpContext context, CorsPolicy cors)
    {
        var origin = cors.AllowOriginFor(Encoding.ASCII.GetBytes(context.Request.Headers.Origin.ToString()));
        context.Response.Headers.Allow = CorsPolicy.AllowedMethods;
        if (origin is not null)
        {
            context.Response.Headers.AccessControlAllowOrigin = origin;
            context.Response.Headers.AccessControlAllowMethods = CorsPolicy.AllowedMethods;
            context.Response.Headers.AccessControlAllowHeaders = CorsPolicy.AllowedHeaders;
            context.Response.Headers.AccessControlMaxAge = "86400";
        }

        return Results.NoContent();
    }

    private static async Task ServeAsync(HttpContext context, SegmentCache cache, CorsPolicy cors, AccessGate gate, ControlState control)
    {
        var request = context.Request;
        var response = context.Response;
        var origin = cors.AllowOriginFor(Encoding.ASCII.GetBytes(request.Headers.Origin.ToString()));
        if (origin is not null)
        {
            response.Headers.AccessControlAllowOrigin = origin;
            response.Headers.AccessControlExposeHeaders = CorsPolicy.ExposedHeaders;
        }

        // The parent listener admits by fleet certificate (checked in the TLS handshake), never by network or token.
        var onParentListener = context.Features.Get<ListenerKindFeature>()?.Kind == ListenerKind.Parent;
        if (onParentListener && gate.RefuseParentPull(context) is { } refusal)
        {
            response.StatusCode = refusal.Status;
            response.ContentType = "text/plain; charset=utf-8";
            await response.WriteAsync(refusal.Reason + "\n", context.RequestAborted);
            return;
        }

        ReadOnlySpan<char> contentPath = request.Path.Value;
        var signed = false;
        var access = onParentListener ? new AccessResult(TokenCheck.Valid) : gate.Access.Check(request.Path.Value, context.Connection.RemoteIpAddress, gate.Now, out contentPath, out signed);
        if (!access.Allowed)
        {
            response.StatusCode = StatusCodes.Status403Forbidden;
            response.ContentType = "text/plain; charset=utf-8";
            await response.WriteAsync(access.Reason + "\n", context.RequestAborted);
            return;
        }

        if (!ContentKey.TryParse(contentPath, out var key))
        {
            response.StatusCode = 404;
            return;
        }

        var path = key.Path;
        if (signed && control.RefusesNewSessions && AccessGate.StartsSession(path))
        {
            response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            response.Headers.RetryAfter = "30";
            response.ContentType = "text/plain; charset=utf-8";
            await response.WriteAsync("not taking new sessions: control plane unreachable\n", context.RequestAborted);
            return;
        }

        using var lookup = await cache.LookupAsync(KeyHash.Of(path), path, context.RequestAborted);
        if (onParentListener)
        {
            ParentAccessLog.SetCache(context, lookup.Tier);
        }

        var info = lookup.Info;
        if (lookup.Tier == CacheTier.Miss)
        {
            var (outcome, head) = await lookup.Fetch!.HeadTask.WaitAsync(context.RequestAborted);
            response.Headers["Cache-Status"] = CacheStatus.Value(CacheStatus.For(CacheTier.Miss, lookup.Join, outcome));
            if (outcome != Upstream.FetchOutcome.Ok)
            {
                response.StatusCode = outcome switch
                {
                    Upstream.FetchOutcome.NotFound => 404,
                    Upstream.FetchOutcome.Gone => 410,
                    Upstream.FetchOutcome.GatewayTimeout => 504,
                    Upstream.FetchOutcome.Overloaded => 503,
                    _ => 502,
                };
                if (outcome == Upstream.FetchOutcome.Overloaded)
                {
                    response.Headers.RetryAfter = "1";
                    response.ContentType = "text/plain; charset=utf-8";
                    await response.WriteAsync("too many objects being fetched from the parents; retry shortly\n", context.RequestAborted);
                }
                else if (outcome == Upstream.FetchOutcome.IntegrityRefused)
                {
                    response.ContentType = "text/plain; charset=utf-8";
                    await response.WriteAsync($"refused by the integrity check: {lookup.Fetch.Refusal?.Reason}\n", context.RequestAborted);
                }

                return;
            }

            info = ObjectInfo.FromHead(path, head!, gate.Now);
        }
        else
        {
            response.Headers["Cache-Status"] = CacheStatus.Value(lookup.Tier == CacheTier.Ram ? CacheStatus.RamHit : CacheStatus.SsdHit);
        }

        RoleTracing.TagRequest("openconnect.cache", AccessLogFormat.CacheLabel(lookup.Tier));

        var plan = ResponsePlanner.Plan(
            HttpMethods.IsHead(request.Method) ? RequestMethod.Head : RequestMethod.Get,
            Encoding.ASCII.GetBytes(request.Headers.Range.ToString()),
            Encoding.ASCII.GetBytes(request.Headers.IfNoneMatch.ToString()),
            Encoding.ASCII.GetBytes(request.Headers.IfModifiedSince.ToString()),
            Encoding.ASCII.GetBytes(request.Headers.IfRange.ToString()),
            info!);
        response.StatusCode = plan.Status;
        response.Headers.ETag = info!.ETag;
        response.Headers.LastModified = Validators.FormatHttpDate(info.LastModified);
        response.Headers.CacheControl = info.CacheControlAt(gate.Now);
        response.Headers.AcceptRanges = "bytes";
        if (plan.Status == 416)
        {
            response.Headers.ContentRange = $"bytes */{info.Length}";
            return;
        }

        if (plan.Status == 304)
        {
            return;
        }

        response.ContentType = info.ContentType;
        response.ContentLength = plan.BodyLength;
        if (plan.Status == 206)
        {
            response.Headers.ContentRange = $"bytes {plan.BodyStart}-{plan.BodyStart + plan.BodyLength - 1}/{info.Length}";
        }

        if (!plan.SendBody)
        {
            return;
        }

        switch (lookup.Tier)
        {
            case CacheTier.Ram:
                await CopyAsync(lookup.Ram!.Memory.Handle, plan.BodyStart, response.Body, plan.BodyLength, context.RequestAborted);
                break;
            case CacheTier.Ssd:
                // The handle is shared with other responses (open-object cache): read it by offset, never dispose it.
                await CopyAsync(lookup.Ssd!.Handle, lookup.Ssd.BodyOffset + plan.BodyStart, response.Body, plan.BodyLength, context.RequestAborted);
                break;
            default:
                var fetch = lookup.Fetch!;
                var position = plan.BodyStart;
                var end = plan.BodyStart + plan.BodyLength;
                while (position < end)
                {
                    var filled = await fetch.WaitSendableAsync(position, context.RequestAborted);
                    if (filled <= position)
                    {
                        context.Abort();
                        return;
                    }

                    var upTo = Math.Min(filled, end);
                    await response.Body.WriteAsync(fetch.Body.AsMemory((int)position, (int)(upTo - position)), context.RequestAborted);
                    position = upTo;
                }

                break;
        }
    }

    private static async Task CopyAsync(Microsoft.Win32.SafeHandles.SafeFileHandle source, long offset, Stream destination, long count, CancellationToken cancellationToken)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (count > 0)
            {
                var n = await RandomAccess.ReadAsync(source, buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)), offset, cancellationToken);
                if (n == 0)
                {
                    throw new IOException("cached object shorter than its index entry");
                }

                await destination.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
                offset += n;
                count -= n;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
