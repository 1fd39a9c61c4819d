using OpenConnect.Origin.Catalog.Accounts;
using OpenConnect.Origin.Publishing;
using OpenConnect.Origin.Storage;
using PipelineTitles = OpenConnect.Origin.Pipeline.Jobs.JobStore;

namespace OpenConnect.Origin.Catalog.Titles;

/// <summary>The answer to a takedown call: the title, why it is down, since when, and whether files were deleted now.</summary>
public sealed record TakedownView(string TitleId, string Reason, DateTimeOffset At, bool FilesDeleted);

/// <summary>
/// An admin takes a title down (every call needs an admin's token):
/// <list type="bullet">
/// <item><c>DELETE /api/v1/titles/{id}</c> deletes it: its published files go from the object store and it stays taken down;</item>
/// <item><c>PUT /api/v1/titles/{id}/takedown</c> unpublishes it: the files stay, nothing serves them;</item>
/// <item><c>DELETE /api/v1/titles/{id}/takedown</c> republishes an unpublished title;</item>
/// <item><c>GET /api/v1/takedowns</c> lists what is taken down.</item>
/// </list>
/// A takedown takes effect at the origin at once (the parent endpoint answers 410, the catalog hides
/// the title) and reaches steering and the appliances through <see cref="TakedownReporter"/>.
/// </summary>
internal static partial class TakedownEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapDelete("/titles/{id}", async (string id, HttpContext context, PipelineTitles pipeline, IObjectStore store, TitleTakedowns takedowns, ILogger<TitleTakedowns> logger) =>
        {
            var (grant, refused) = await RequireAdminAndTitleAsync(context, id, pipeline, store);
            if (refused is not null)
            {
                return refused;
            }

            if (pipeline.Get(id)?.State is Pipeline.TitleStates.Queued or Pipeline.TitleStates.Processing)
            {
                return ApiErrors.Conflict($"title '{id}' is still being processed; delete it once it is published or failed");
            }

            // Taken down first: from here on nothing serves it, then its files go.
            var entry = takedowns.TakeDown(id, TitleTakedowns.Deleted);
            var deleted = store.Delete(id);
            Log.TakenDown(logger, id, entry.Reason, grant!.UserId, deleted);
            return Results.Ok(new TakedownView(id, entry.Reason, entry.At, deleted));
        }).Produces<TakedownView>().WithName("DeleteTitle");

        api.MapPut("/titles/{id}/takedown", async (string id, HttpContext context, PipelineTitles pipeline, IObjectStore store, TitleTakedowns takedowns, ILogger<TitleTakedowns> logger) =>
        {
            var (grant, refused) = await RequireAdminAndTitleAsync(context, id, pipeline, store);
            if (refused is not null)
            {
                return refused;
            }

            var entry = takedowns.TakeDown(id, TitleTakedowns.Unpublished);
            Log.TakenDown(logger, id, entry.Reason, grant!.UserId, false);
            return Results.Ok(new TakedownView(id, entry.Reason, entry.At, false));
        }).Produces<TakedownView>().WithName("UnpublishTitle");

        api.MapDelete("/titles/{id}/takedown", async (string id, HttpContext context, TitleTakedowns takedowns, ILogger<TitleTakedowns> logger) =>
        {
            var (grant, denied) = await CatalogAuth.RequireAsync(context, UserRole.Admin);
            if (denied is not null)
            {
                return denied;
            }

            try
            {
                if (!takedowns.Lift(id))
                {
                    return ApiErrors.NotFound($"title '{id}' is not taken down");
                }
            }
            catch (InvalidOperationException ex)
            {
                return ApiErrors.Conflict(ex.Message);
            }

            Log.Lifted(logger, id, grant!.UserId);
            return Results.NoContent();
        }).WithName("RepublishTitle");

        api.MapGet("/takedowns", async (HttpContext context, TitleTakedowns takedowns) =>
        {
            var (_, denied) = await CatalogAuth.RequireAsync(context, UserRole.Admin);
            return denied ?? Results.Ok(takedowns.List().Select(e => new TakedownView(e.TitleId, e.Reason, e.At, false)).ToList());
        }).Produces<List<TakedownView>>().WithName("ListTakedowns");
    }

    /// <summary>
    /// The admin's grant, or the refusal: 401/403 without an admin's token, 400 for a bad id, 404 for a
    /// title neither the pipeline nor the object store knows (packages published outside the pipeline count).
    /// </summary>
    private static async Task<(AccessGrant? Grant, IResult? Refused)> RequireAdminAndTitleAsync(HttpContext context, string id, PipelineTitles pipeline, IObjectStore store)
    {
        var (grant, denied) = await CatalogAuth.RequireAsync(context, UserRole.Admin);
        if (denied is not null)
        {
            return (null, denied);
        }

        if (!ApiLimits.IsValidId(id))
        {
            return (null, ApiErrors.BadRequest("title id must be 1..64 characters of [A-Za-z0-9_-]"));
        }

        return pipeline.Get(id) is null && !store.IsPublished(id) ? (null, ApiErrors.NotFound($"no title '{id}'")) : (grant, null);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7321, Level = LogLevel.Warning, Message = "Title {TitleId} taken down ({Reason}) by user {UserId}; files deleted now: {FilesDeleted}")]
        public static partial void TakenDown(ILogger logger, string titleId, string reason, string userId, bool filesDeleted);

        [LoggerMessage(EventId = 7322, Level = LogLevel.Information, Message = "Title {TitleId} republished by user {UserId}")]
        public static partial void Lifted(ILogger logger, string titleId, string userId);
    }
}
