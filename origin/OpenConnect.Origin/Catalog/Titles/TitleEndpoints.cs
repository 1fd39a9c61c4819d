using OpenConnect.Origin.Catalog.Accounts;
using OpenConnect.Origin.Catalog.Social;

namespace OpenConnect.Origin.Catalog.Titles;

public sealed record EditTitleRequest(string? Title, string? Description, IReadOnlyList<string>? Tags);

public sealed record ViewRequest(string? SessionId);

public sealed record RatingRequest(string? Rating);

/// <summary><c>/api/v1/titles</c>: lists, the cached player read with ETags, uploader edits, views and ratings.</summary>
internal static class TitleEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/titles", (HttpContext context, PublishedTitles titles) =>
        {
            var query = context.Request.Query;
            if (!ApiLimits.TryPageSize(query["limit"], out var limit, out var error))
            {
                return error!;
            }

            (long, long)? after = null;
            var cursor = query["cursor"].ToString();
            if (cursor.Length > 0)
            {
                if (!Cursor.TryDecode(cursor, "t", 2, out var values))
                {
                    return ApiErrors.BadRequest("cursor is not a cursor of this list");
                }

                after = (values[0], values[1]);
            }

            var channel = query["channel"].ToString();
            return Results.Ok(titles.ListPublished(channel.Length == 0 ? null : channel, after, limit));
        }).Produces<Page<TitleView>>().WithName("ListTitles");

        api.MapGet("/titles/{id}", async (string id, HttpContext context, TitleCache cache, Publishing.TitleTakedowns takedowns) =>
        {
            if (!ApiLimits.IsValidId(id))
            {
                return ApiErrors.BadRequest("title id must be 1..64 characters of [A-Za-z0-9_-]");
            }

            if (takedowns.IsTakenDown(id, out var reason))
            {
                return ApiErrors.Error(StatusCodes.Status410Gone, $"title '{id}' was taken down ({reason})");
            }

            var entry = await cache.GetAsync(id);
            if (entry is null)
            {
                return ApiErrors.NotFound($"no title '{id}'");
            }

            context.Response.Headers.ETag = entry.ETag;
            context.Response.Headers.CacheControl = "no-cache";
            var ifNoneMatch = context.Request.Headers.IfNoneMatch.ToString();
            if (ifNoneMatch.Length > 0 && (ifNoneMatch == "*" || ifNoneMatch.Split(',').Any(tag => tag.Trim() == entry.ETag)))
            {
                return Results.StatusCode(StatusCodes.Status304NotModified);
            }

            return Results.Bytes(entry.Json, "application/json");
        }).Produces<TitleView>().WithName("GetTitle");

        api.MapMethods("/titles/{id}", ["PATCH"], async (string id, HttpContext context, PublishedTitles titles) =>
        {
            var (grant, denied) = await CatalogAuth.RequireAsync(context, UserRole.Uploader);
            if (denied is not null)
            {
                return denied;
            }

            if (!ApiLimits.IsValidId(id))
            {
                return ApiErrors.BadRequest("title id must be 1..64 characters of [A-Za-z0-9_-]");
            }

            var (body, bad) = await RequestJson.ReadAsync<EditTitleRequest>(context.Request, context.RequestAborted);
            if (bad is not null)
            {
                return bad;
            }

            if (PublishedTitles.CheckText(body!.Title, body.Description, body.Tags) is { } problem)
            {
                return ApiErrors.BadRequest(problem);
            }

            var owner = titles.Lookup(id);
            if (owner is null)
            {
                return ApiErrors.NotFound($"no title '{id}'");
            }

            if (owner.Value.UploaderId != grant!.UserId && !grant.Has(UserRole.Admin))
            {
                return ApiErrors.Forbidden("only the uploader or an admin may edit this title");
            }

            var updated = await titles.EditAsync(id, body.Title?.Trim(), body.Description, body.Tags, context.RequestAborted);
            return updated is null ? ApiErrors.NotFound($"no title '{id}'") : Results.Ok(updated);
        }).Accepts<EditTitleRequest>("application/json").Produces<TitleView>().WithName("EditTitle");

        api.MapPost("/titles/{id}/views", async (string id, HttpContext context, PublishedTitles titles, ViewCounter views) =>
        {
            if (!ApiLimits.IsValidId(id))
            {
                return ApiErrors.BadRequest("title id must be 1..64 characters of [A-Za-z0-9_-]");
            }

            var (body, bad) = await RequestJson.ReadAsync<ViewRequest>(context.Request, context.RequestAborted);
            if (bad is not null)
            {
                return bad;
            }

            if (!ViewCounter.IsValidSession(body!.SessionId))
            {
                return ApiErrors.BadRequest("sessionId must be 8..128 characters of [A-Za-z0-9_-]");
            }

            if (titles.Lookup(id) is not { } title)
            {
                return ApiErrors.NotFound($"no title '{id}'");
            }

            views.Record(title.Seq, id, body.SessionId!);
            return Results.Accepted();
        }).Accepts<ViewRequest>("application/json").WithName("RecordView");

        api.MapGet("/titles/{id}/rating", async (string id, HttpContext context, PublishedTitles titles, SocialStore social) =>
        {
            var (grant, denied) = await CatalogAuth.RequireAsync(context, UserRole.Viewer);
            if (denied is not null)
            {
                return denied;
            }

            if (!ApiLimits.IsValidId(id) || titles.Lookup(id) is not { } title)
            {
                return ApiErrors.NotFound($"no title '{id}'");
            }

            return Results.Ok(new { rating = social.MyRating(title.Seq, grant!.UserId) });
        }).WithName("GetMyRating");

        api.MapPut("/titles/{id}/rating", async (string id, HttpContext context, PublishedTitles titles, SocialStore social) =>
        {
            var (grant, denied) = await CatalogAuth.RequireAsync(context, UserRole.Viewer);
            if (denied is not null)
            {
                return denied;
            }

            var (body, bad) = await RequestJson.ReadAsync<RatingRequest>(context.Request, context.RequestAborted);
            if (bad is not null)
            {
                return bad;
            }

            int? value = body!.Rating switch { "like" => 1, "dislike" => -1, "none" => 0, _ => null };
            if (value is null)
            {
                return ApiErrors.BadRequest("rating must be \"like\", \"dislike\" or \"none\"");
            }

            if (!ApiLimits.IsValidId(id) || titles.Lookup(id) is not { } title)
            {
                return ApiErrors.NotFound($"no title '{id}'");
            }

            return Results.Ok(await social.RateAsync(id, title.Seq, grant!.UserId, value.Value, context.RequestAborted));
        }).Accepts<RatingRequest>("application/json").Produces<RatingView>().WithName("RateTitle");
    }
}
