using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using OpenConnect.Origin.Catalog.Accounts;
using OpenConnect.Origin.Catalog.Titles;

namespace OpenConnect.Origin.Catalog.Notifications;

/// <summary>
/// <c>GET /api/v1/notifications</c> (stored, paged by id) and <c>GET /api/v1/notifications/stream</c>
/// (Server-Sent Events; <c>Last-Event-ID</c> replays what a reconnecting client missed).
/// </summary>
internal static class NotificationEndpoints
{
    private const int BatchSize = 100;

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/notifications", async (HttpContext context, NotificationHub hub) =>
        {
            var (grant, denied) = await CatalogAuth.RequireAsync(context, UserRole.Viewer);
            if (denied is not null)
            {
                return denied;
            }

            if (!ApiLimits.TryPageSize(context.Request.Query["limit"], out var limit, out var error))
            {
                return error!;
            }

            if (!TryId(context.Request.Query["after"], out var after))
            {
                return ApiErrors.BadRequest("after must be a notification id");
            }

            var items = hub.After(grant!.UserId, after, limit);
            return Results.Ok(new Page<NotificationView>(items, items.Count == limit ? items[^1].Id.ToString(CultureInfo.InvariantCulture) : null));
        }).Produces<Page<NotificationView>>().WithName("ListNotifications");

        api.MapGet("/notifications/stream", async (HttpContext context, NotificationHub hub, IOptions<OriginOptions> options, IHostApplicationLifetime lifetime) =>
        {
            var (grant, denied) = await CatalogAuth.RequireAsync(context, UserRole.Viewer, allowQuery: true);
            if (denied is not null)
            {
                await denied.ExecuteAsync(context);
                return;
            }

            var lastEventId = context.Request.Headers["Last-Event-ID"].ToString();
            if (lastEventId.Length == 0)
            {
                lastEventId = context.Request.Query["lastEventId"].ToString();
            }

            if (!TryId(lastEventId, out var lastId))
            {
                await ApiErrors.BadRequest("Last-Event-ID must be a notification id").ExecuteAsync(context);
                return;
            }

            // Streams end when the client leaves or the origin stops.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
            await StreamAsync(context, hub, grant!.UserId, lastEventId.Length == 0 ? null : lastId, options.Value.Catalog.NotificationKeepAlive, stop.Token);
        }).WithName("NotificationStream");
    }

    private static async Task StreamAsync(HttpContext context, NotificationHub hub, string userId, long? lastId, TimeSpan keepAlive, CancellationToken ct)
    {
        // Listen before reading, so a notification stored in between is signalled, not lost.
        using var listener = hub.Listen(userId);
        var after = lastId ?? hub.LatestId(userId);
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
        try
        {
            await response.WriteAsync("retry: 1000\n: connected\n\n", ct);
            await response.Body.FlushAsync(ct);
            while (!ct.IsCancellationRequested)
            {
                var batch = hub.After(userId, after, BatchSize);
                if (batch.Count > 0)
                {
                    var text = new StringBuilder();
                    foreach (var item in batch)
                    {
                        text.Append("id: ").Append(item.Id.ToString(CultureInfo.InvariantCulture)).Append("\nevent: notification\ndata: ")
                            .Append(NotificationHub.ToJson(item)).Append("\n\n");
                        after = item.Id;
                    }

                    await response.WriteAsync(text.ToString(), ct);
                    await response.Body.FlushAsync(ct);
                    if (batch.Count == BatchSize)
                    {
                        continue;
                    }
                }

                using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
                wait.CancelAfter(keepAlive);
                try
                {
                    await listener.Signal.ReadAsync(wait.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    await response.WriteAsync(": keepalive\n\n", ct);
                    await response.Body.FlushAsync(ct);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (IOException)
        {
            // The client went away.
        }
    }

    private static bool TryId(string? text, out long id)
    {
        id = 0;
        return string.IsNullOrEmpty(text) || long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out id);
    }
}
