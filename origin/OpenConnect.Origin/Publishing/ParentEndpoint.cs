using Microsoft.Net.Http.Headers;
using OpenConnect.Contracts.Content;
using OpenConnect.Hosting;
using OpenConnect.Origin.Storage;

namespace OpenConnect.Origin.Publishing;

/// <summary>
/// Serves published objects with byte ranges and validators: the last parent of every appliance and
/// the last pathway for players. Appliances pull unsigned <c>/v/{title}/…</c> from
/// <c>Origin:ParentNetworks</c> on the data listener, or with their fleet certificates on the fleet
/// parent listener (<c>Origin:Fleet:ParentUrl</c>, nothing but <c>/v/…</c> there); players present
/// <c>/s/{token}/v/{title}/…</c> with a token signed by a key in <c>Origin:PlaybackKeys</c>. Anything
/// else gets 403 with the reason. A title taken down (<see cref="TitleTakedowns"/>) gets 410 with the reason.
/// </summary>
public static class ParentEndpoint
{
    public static WebApplication MapParentEndpoint(this WebApplication app)
    {
        var access = new Lazy<Protection.OriginPlaybackAccess>(() => app.Services.GetRequiredService<Protection.OriginPlaybackAccess>());
        var time = app.Services.GetService<TimeProvider>() ?? TimeProvider.System;
        async Task<IResult> Serve(HttpContext context, IObjectStore store)
        {
            ReadOnlySpan<char> contentPath = context.Request.Path.Value;
            if (context.Features.Get<ListenerKindFeature>()?.Kind == ListenerKind.Parent)
            {
                // The fleet parent listener: the TLS handshake admitted an appliance's or the fill
                // controller's fleet certificate; ParentNetworks and tokens play no part here.
                if (context.Request.Path.StartsWithSegments("/s", StringComparison.Ordinal))
                {
                    return Results.NotFound(new { error = "signed player paths are served on the data listener, not the fleet parent listener" });
                }

                var caller = FleetParentTls.Caller(context, time.GetUtcNow(), out var problem);
                if (caller is null || !OriginFleetCredentials.MayPull(caller))
                {
                    return Results.Json(new { error = problem ?? $"{caller} may not pull from the origin" }, statusCode: StatusCodes.Status403Forbidden);
                }
            }
            else
            {
                var check = access.Value.Current.Check(context.Request.Path.Value, context.Connection.RemoteIpAddress, time.GetUtcNow(), out contentPath, out _);
                if (!check.Allowed)
                {
                    return Results.Json(new { error = check.Reason }, statusCode: StatusCodes.Status403Forbidden);
                }
            }

            if (!ContentKey.TryParse(contentPath, out var key))
            {
                return Results.NotFound(new { error = "not a content path" });
            }

            // Players reach the origin from pages on other origins when it is their last pathway.
            context.Response.Headers.AccessControlAllowOrigin = "*";
            return await SendAsync(context, store, key, $"{key.Path} is not published", ContentTypes.CacheControlFor(key.FileName));
        }

        app.MapMethods("/v/{**rest}", ["GET", "HEAD"], Serve);
        app.MapMethods("/s/{token}/v/{**rest}", ["GET", "HEAD"], Serve);

        // A title's poster is public, like its title and description: pages show it on any network.
        // Only this one file of a published title; the id must be a content key's title id.
        app.MapMethods("/posters/{file}", ["GET", "HEAD"], async (string file, HttpContext context, IObjectStore store) =>
        {
            var titleId = file.EndsWith(".jpg", StringComparison.Ordinal) ? file[..^4] : "";
            if (!ContentKey.IsValidTitleId(titleId))
            {
                return Results.NotFound(new { error = "not a poster path: /posters/{title}.jpg" });
            }

            return await SendAsync(context, store, ContentKey.ForTitleFile(titleId, "poster.jpg"), $"{titleId} has no published poster", "public, max-age=3600");
        });
        return app;
    }

    /// <summary>A published object with its validators and byte ranges, or 404 with <paramref name="missing"/>.</summary>
    private static async Task<IResult> SendAsync(HttpContext context, IObjectStore store, ContentKey key, string missing, string cacheControl)
    {
        // A title an admin took down is gone for every caller, appliances included (they drop it on 410).
        if (context.RequestServices.GetRequiredService<TitleTakedowns>().IsTakenDown(key.TitleId, out var reason))
        {
            context.Response.Headers.CacheControl = "no-store";
            return Results.Json(new { error = $"title {key.TitleId} was taken down ({reason})" }, statusCode: StatusCodes.Status410Gone);
        }

        var stored = await store.OpenAsync(key, context.RequestAborted);
        if (stored is null)
        {
            return Results.NotFound(new { error = missing });
        }

        if (stored.Content is IByteRangeHint hint && ByteRangeRequest.Single(context.Request.Headers.Range, stored.Length) is var (from, to))
        {
            // A remote store then fetches just the range, not everything from its start to the end.
            hint.ExpectRange(from, to);
        }

        context.Response.Headers.CacheControl = cacheControl;
        var etag = new EntityTagHeaderValue($"\"{stored.Length:x}-{stored.LastModified.ToUnixTimeMilliseconds():x}\"");
        return Results.Stream(stored.Content, ContentTypes.For(key.FileName), lastModified: stored.LastModified, entityTag: etag, enableRangeProcessing: true);
    }

    /// <summary>The public path of a title's poster.</summary>
    public static string PosterPath(string titleId) => $"/posters/{titleId}.jpg";
}
