using System.Buffers;
using Microsoft.Extensions.Options;
using OpenConnect.Origin.Catalog;

namespace OpenConnect.Origin.Web;

/// <summary>
/// <c>POST /api/qoe</c> takes a player's beacon (JSON, sent as <c>application/json</c> or, as
/// <c>sendBeacon</c> with a string does, <c>text/plain</c>): 204 when recorded, 400 with the reason
/// when not, 413 when over <see cref="WebAppOptions.MaxBeaconBytes"/>, 429 past the catalog API's
/// per-client rate limit (<c>Origin:Catalog:RateLimitPerSecond</c>/<c>Burst</c>). <c>GET /api/qoe/summary</c>
/// returns what the QoE page plots, without session ids (bitrate readings carry a per-summary series number).
/// </summary>
internal static class QoeEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapPost("/api/qoe", async (HttpContext context, QoeAggregator qoe, IOptions<OriginOptions> options) =>
        {
            var limit = options.Value.Web.MaxBeaconBytes;
            if (context.Request.ContentLength > limit)
            {
                qoe.Rejected();
                return Results.Json(new { error = $"a beacon is at most {limit} bytes" }, statusCode: StatusCodes.Status413PayloadTooLarge);
            }

            var type = context.Request.ContentType ?? "";
            if (!type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) && !type.StartsWith("text/plain", StringComparison.OrdinalIgnoreCase))
            {
                qoe.Rejected();
                return Results.BadRequest(new { error = "a beacon is JSON sent as application/json or text/plain" });
            }

            var buffer = ArrayPool<byte>.Shared.Rent(limit + 1);
            try
            {
                var length = 0;
                int read;
                while ((read = await context.Request.Body.ReadAsync(buffer.AsMemory(length, limit + 1 - length), context.RequestAborted)) > 0)
                {
                    length += read;
                    if (length > limit)
                    {
                        qoe.Rejected();
                        return Results.Json(new { error = $"a beacon is at most {limit} bytes" }, statusCode: StatusCodes.Status413PayloadTooLarge);
                    }
                }

                var (beacon, problem) = QoeBeacon.Parse(buffer.AsSpan(0, length));
                if (problem is not null)
                {
                    qoe.Rejected();
                    return Results.BadRequest(new { error = problem });
                }

                qoe.Record(beacon!);
                return Results.NoContent();
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }).RequireRateLimiting(CatalogRegistration.RateLimitPolicy).WithTags("qoe");

        app.MapGet("/api/qoe/summary", (HttpContext context, QoeAggregator qoe) =>
        {
            context.Response.Headers.CacheControl = "no-store";
            return Results.Ok(qoe.Summary());
        }).WithTags("qoe");
    }
}
