using System.Buffers;
using System.Globalization;
using OpenConnect.Contracts.Content;
using OpenConnect.Contracts.Security;

namespace OpenConnect.Origin.Protection;

/// <summary>
/// The ClearKey license endpoint on the origin's public port:
/// <c>POST /license/s/{token}/v/{titleId}/clearkey</c> with the EME license request as the body. The
/// token is the steering-signed playback token, checked by the origin's <see cref="PlaybackAccess"/>
/// against the path <c>/s/{token}/v/{titleId}/clearkey</c> exactly as an appliance checks a segment
/// path (signature, expiry, title prefix, client network). Only a signed path is accepted: the parent
/// networks that may pull unsigned content get no keys. Every response is <c>no-store</c> and open to
/// any origin (players' pages are elsewhere; no credentials are involved).
/// </summary>
public sealed class LicenseEndpoint(ITitleKeys keys, OriginPlaybackAccess access, LicenseRateLimiter limiter, ProtectionMetrics metrics, TimeProvider time, ILogger<LicenseEndpoint> logger)
{
    public const string RoutePrefix = "/license";

    /// <summary>Largest license request body accepted; a ClearKey request for a few key ids is about 100 bytes.</summary>
    public const int MaxBodyBytes = 4096;

    private const string JsonType = "application/json";

    /// <summary>The license path for a token and a title (what a player is given as its license server URL).</summary>
    public static string LicensePath(string token, string titleId) => string.Concat(RoutePrefix, UrlToken.SignedPath(token, ContentKey.Prefix), titleId, "/clearkey");

    public async Task HandleAsync(HttpContext context)
    {
        var response = context.Response;
        response.Headers.AccessControlAllowOrigin = "*";
        response.Headers.CacheControl = "no-store";
        var titleId = context.Request.RouteValues["titleId"] as string ?? "";
        var loggedTitle = ContentKey.IsValidTitleId(titleId) ? titleId : "(not a title id)";
        var client = context.Connection.RemoteIpAddress;
        var clientText = client?.ToString() ?? "unknown";

        if (!limiter.TryAcquire(client, out var retryAfter))
        {
            metrics.LicenseRequests.WithLabels("rate_limited").Inc();
            ProtectionLog.LicenseRateLimited(logger, loggedTitle, clientText);
            response.Headers.RetryAfter = Math.Ceiling(retryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            await WriteErrorAsync(response, StatusCodes.Status429TooManyRequests, "too many license requests from this client; retry later");
            return;
        }

        // The path an appliance would check: /s/{token}/v/{title}/clearkey (this route's path less /license).
        var path = context.Request.Path.Value.AsSpan(RoutePrefix.Length);
        var check = access.Current.Check(path, client, time.GetUtcNow(), out _, out var signed);
        if (!signed || !check.Allowed)
        {
            var reason = check.Allowed ? PlaybackAccess.Reason(TokenCheck.Missing) : check.Reason;
            await RefuseAsync(response, loggedTitle, clientText, "forbidden", StatusCodes.Status403Forbidden, reason, 0);
            return;
        }

        if (!ContentKey.IsValidTitleId(titleId))
        {
            await RefuseAsync(response, loggedTitle, clientText, "not_found", StatusCodes.Status404NotFound, "not a title id", 0);
            return;
        }

        var (body, bodyError) = await ReadBodyAsync(context.Request, context.RequestAborted);
        if (bodyError is not null)
        {
            await RefuseAsync(response, loggedTitle, clientText, "bad_request", StatusCodes.Status413PayloadTooLarge, bodyError, 0);
            return;
        }

        if (!LicenseRequest.TryParse(body, out var requested, out var parseError))
        {
            await RefuseAsync(response, loggedTitle, clientText, "bad_request", StatusCodes.Status400BadRequest, parseError, 0);
            return;
        }

        TitleKey key;
        try
        {
            if (!keys.TryGet(titleId, out key))
            {
                await RefuseAsync(response, loggedTitle, clientText, "not_found", StatusCodes.Status404NotFound, $"title {titleId} is not protected", requested.Count);
                return;
            }
        }
        catch (TitleKeyUnavailableException ex)
        {
            // The reason (a damaged row, a wrong KEK) is for the operator's log, not for the player.
            metrics.LicenseRequests.WithLabels("error").Inc();
            ProtectionLog.TitleKeyUnavailable(logger, ex, titleId, clientText);
            await WriteErrorAsync(response, StatusCodes.Status500InternalServerError, "the title's key is unavailable");
            return;
        }

        // Only the title's own key: a key id of another title is not answered, whatever the token.
        var granted = new List<TitleKey>(1);
        foreach (var kid in requested)
        {
            if (kid.AsSpan().SequenceEqual(key.KeyId) && granted.Count == 0)
            {
                granted.Add(key);
            }
        }

        if (granted.Count == 0)
        {
            await RefuseAsync(response, loggedTitle, clientText, "not_found", StatusCodes.Status404NotFound, $"none of the requested key ids belongs to title {titleId}", requested.Count);
            return;
        }

        metrics.LicenseRequests.WithLabels("granted").Inc();
        metrics.KeysIssued.Inc(granted.Count);
        ProtectionLog.LicenseGranted(logger, titleId, clientText, granted.Count, requested.Count);
        var license = LicenseRequest.WriteLicense(granted);
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = JsonType;
        response.ContentLength = license.Length;
        await response.Body.WriteAsync(license, context.RequestAborted);
    }

    /// <summary>The CORS preflight for a cross-origin <c>POST</c> with <c>Content-Type: application/json</c>.</summary>
    public static IResult Preflight(HttpContext context)
    {
        var headers = context.Response.Headers;
        headers.AccessControlAllowOrigin = "*";
        headers.AccessControlAllowMethods = "POST, OPTIONS";
        headers.AccessControlAllowHeaders = "Content-Type";
        headers.AccessControlMaxAge = "86400";
        headers.CacheControl = "no-store";
        return Results.NoContent();
    }

    /// <summary>Reads at most <see cref="MaxBodyBytes"/>; the error names the limit when the body is longer.</summary>
    private static async Task<(byte[] Body, string? Error)> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        const string tooLarge = "the license request is larger than 4096 bytes";
        if (request.ContentLength > MaxBodyBytes)
        {
            return ([], tooLarge);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(MaxBodyBytes + 1);
        try
        {
            var total = 0;
            while (total <= MaxBodyBytes)
            {
                var read = await request.Body.ReadAsync(buffer.AsMemory(total, MaxBodyBytes + 1 - total), ct);
                if (read == 0)
                {
                    break;
                }

                total += read;
            }

            return total > MaxBodyBytes ? ([], tooLarge) : (buffer.AsSpan(0, total).ToArray(), null);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private Task RefuseAsync(HttpResponse response, string titleId, string client, string outcome, int status, string reason, int requestedCount)
    {
        metrics.LicenseRequests.WithLabels(outcome).Inc();
        ProtectionLog.LicenseRefused(logger, titleId, client, outcome, status, reason, requestedCount);
        return WriteErrorAsync(response, status, reason);
    }

    private static Task WriteErrorAsync(HttpResponse response, int status, string message)
    {
        response.StatusCode = status;
        return response.WriteAsJsonAsync(new LicenseError(message));
    }

    private sealed record LicenseError(string Error);
}

/// <summary>Maps the license endpoint's routes.</summary>
public static class LicenseEndpointRouting
{
    public static WebApplication MapLicenseEndpoint(this WebApplication app)
    {
        // Resolved on the first request: the endpoint's options are validated when the host starts.
        var endpoint = new Lazy<LicenseEndpoint>(() => app.Services.GetRequiredService<LicenseEndpoint>());
        const string signed = LicenseEndpoint.RoutePrefix + "/s/{token}/v/{titleId}/clearkey";
        const string unsigned = LicenseEndpoint.RoutePrefix + "/v/{titleId}/clearkey";
        app.MapPost(signed, context => endpoint.Value.HandleAsync(context));

        // Without a token the answer is 403 too, never a key, whatever network the client is on.
        app.MapPost(unsigned, context => endpoint.Value.HandleAsync(context));
        app.MapMethods(signed, [HttpMethods.Options], LicenseEndpoint.Preflight);
        app.MapMethods(unsigned, [HttpMethods.Options], LicenseEndpoint.Preflight);
        return app;
    }
}
