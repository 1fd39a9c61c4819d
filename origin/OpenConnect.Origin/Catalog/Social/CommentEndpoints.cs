using System.Globalization;
using OpenConnect.Origin.Catalog.Accounts;
using OpenConnect.Origin.Catalog.Titles;

namespace OpenConnect.Origin.Catalog.Social;

public sealed record CommentRequest(string? Body, long? ParentId);

public sealed record EditCommentRequest(string? Body);

/// <summary>Threaded comments: <c>/api/v1/titles/{id}/comments</c> and <c>/api/v1/comments/{id}</c>.</summary>
internal static class CommentEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/titles/{id}/comments", (string id, HttpContext context, PublishedTitles titles, SocialStore social) =>
        {
            var query = context.Request.Query;
            if (!ApiLimits.TryPageSize(query["limit"], out var limit, out var error))
            {
                return error!;
            }

            long? parent = null;
            var parentText = query["parent"].ToString();
            if (parentText.Length > 0)
            {
                if (!long.TryParse(parentText, NumberStyles.None, CultureInfo.InvariantCulture, out var p))
                {
                    return ApiErrors.BadRequest("parent must be a comment id");
                }

                parent = p;
            }

            long after = 0;
            var cursor = query["cursor"].ToString();
            if (cursor.Length > 0)
            {
                if (!Cursor.TryDecode(cursor, "c", 1, out var values))
                {
                    return ApiErrors.BadRequest("cursor is not a cursor of this list");
                }

                after = values[0];
            }

            if (!ApiLimits.IsValidId(id) || titles.Lookup(id) is not { } title)
            {
                return ApiErrors.NotFound($"no title '{id}'");
            }

            return Results.Ok(social.ListComments(id, title.Seq, parent, after, limit));
        }).Produces<Page<CommentView>>().WithName("ListComments");

        api.MapPost("/titles/{id}/comments", async (string id, HttpContext context, PublishedTitles titles, SocialStore social) =>
        {
            var (grant, denied) = await CatalogAuth.RequireAsync(context, UserRole.Viewer);
            if (denied is not null)
            {
                return denied;
            }

            var (body, bad) = await RequestJson.ReadAsync<CommentRequest>(context.Request, context.RequestAborted);
            if (bad is not null)
            {
                return bad;
            }

            if (CheckBody(body!.Body) is { } problem)
            {
                return ApiErrors.BadRequest(problem);
            }

            if (!ApiLimits.IsValidId(id) || titles.Lookup(id) is not { } title)
            {
                return ApiErrors.NotFound($"no title '{id}'");
            }

            var comment = await social.AddCommentAsync(id, title.Seq, body.ParentId, grant!, body.Body!, context.RequestAborted);
            return comment is null
                ? ApiErrors.BadRequest($"parentId {body.ParentId} is not a comment on title '{id}'")
                : Results.Created($"/api/v1/comments/{comment.Id}", comment);
        }).Accepts<CommentRequest>("application/json").Produces<CommentView>(StatusCodes.Status201Created).WithName("AddComment");

        api.MapMethods("/comments/{commentId}", ["PATCH"], async (string commentId, HttpContext context, SocialStore social) =>
        {
            var (grant, denied) = await CatalogAuth.RequireAsync(context, UserRole.Viewer);
            if (denied is not null)
            {
                return denied;
            }

            var (body, bad) = await RequestJson.ReadAsync<EditCommentRequest>(context.Request, context.RequestAborted);
            if (bad is not null)
            {
                return bad;
            }

            if (CheckBody(body!.Body) is { } problem)
            {
                return ApiErrors.BadRequest(problem);
            }

            if (!long.TryParse(commentId, NumberStyles.None, CultureInfo.InvariantCulture, out var cid) || social.CommentOwner(cid) is not { } owner || owner.Deleted)
            {
                return ApiErrors.NotFound($"no comment '{commentId}'");
            }

            if (owner.UserId != grant!.UserId)
            {
                return ApiErrors.Forbidden("only the author may edit a comment");
            }

            await social.EditCommentAsync(cid, body.Body!, context.RequestAborted);
            return Results.NoContent();
        }).Accepts<EditCommentRequest>("application/json").WithName("EditComment");

        api.MapDelete("/comments/{commentId}", async (string commentId, HttpContext context, SocialStore social) =>
        {
            var (grant, denied) = await CatalogAuth.RequireAsync(context, UserRole.Viewer);
            if (denied is not null)
            {
                return denied;
            }

            if (!long.TryParse(commentId, NumberStyles.None, CultureInfo.InvariantCulture, out var cid) || social.CommentOwner(cid) is not { } owner || owner.Deleted)
            {
                return ApiErrors.NotFound($"no comment '{commentId}'");
            }

            if (owner.UserId != grant!.UserId && !grant.Has(UserRole.Admin))
            {
                return ApiErrors.Forbidden("only the author or an admin may delete a comment");
            }

            await social.DeleteCommentAsync(cid, context.RequestAborted);
            return Results.NoContent();
        }).WithName("DeleteComment");
    }

    private static string? CheckBody(string? body) =>
        body is null || body.Trim().Length == 0 || body.Length > ApiLimits.MaxCommentLength
            ? $"body must be 1..{ApiLimits.MaxCommentLength} characters"
            : null;
}
