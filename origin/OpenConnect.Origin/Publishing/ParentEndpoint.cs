using Microsoft.Net.Http.Headers;
using OpenConnect.Contracts.Content;
using OpenConnect.Origin.Storage;

namespace OpenConnect.Origin.Publishing;

/// <summary>
/// Serves published objects at <c>/v/{title}/…</c> with byte ranges and validators: the last parent
/// of every appliance.
/// </summary>
public static class ParentEndpoint
{
    public static WebApplication MapParentEndpoint(this WebApplication app)
    {
        app.MapMethods("/v/{**rest}", ["GET", "HEAD"], (HttpContext context, IObjectStore store) =>
        {
            if (!ContentKey.TryParse(context.Request.Path.Value, out var key))
            {
                return Results.NotFound(new { error = "not a content path" });
            }

            var stored = store.Open(key);
            if (stored is null)
            {
                return Results.NotFound(new { error = $"{key.Path} is not published" });
            }

            context.Response.Headers.CacheControl = ContentTypes.CacheControlFor(key.FileName);
            var etag = new EntityTagHeaderValue($"\"{stored.Length:x}-{stored.LastModified.ToUnixTimeMilliseconds():x}\"");
            return Results.Stream(stored.Content, ContentTypes.For(key.FileName), lastModified: stored.LastModified, entityTag: etag, enableRangeProcessing: true);
        });
        return app;
    }
}
