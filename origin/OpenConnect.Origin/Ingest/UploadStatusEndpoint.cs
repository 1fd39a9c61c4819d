using OpenConnect.Origin.Pipeline;

namespace OpenConnect.Origin.Ingest;

/// <summary>
/// <c>GET /api/uploads/{id}</c>: an upload's progress and what the pipeline made of it, as JSON, for
/// its uploader and admins (<see cref="PipelineCaller"/>: 401 without a token, 404 for another
/// user's upload, as for one that does not exist). The reason is the public form
/// (<see cref="PublicReason"/>).
/// </summary>
public static class UploadStatusEndpoint
{
    public sealed record UploadStatus(
        string Id,
        long Offset,
        long? Length,
        IReadOnlyDictionary<string, string> Metadata,
        string Concat,
        string State,
        string? TitleId,
        string? Reason,
        DateTimeOffset? Expires);

    public static WebApplication MapUploadStatus(this WebApplication app)
    {
        app.MapGet("/api/uploads/{id}", async (HttpContext context, string id, IUploadStore store, TimeProvider time) =>
        {
            var (caller, error) = await PipelineCaller.FromAsync(context);
            if (caller is null)
            {
                return error!;
            }

            context.Response.Headers.CacheControl = "no-store";
            if (!UploadIds.IsValid(id) || await store.FindAsync(id, context.RequestAborted) is not { } entry || !caller.MaySee(entry.Current.Metadata))
            {
                return Results.NotFound(new { error = "no such upload" });
            }

            var r = entry.Current;
            var expired = r.IsGoneAt(time.GetUtcNow());
            return Results.Ok(new UploadStatus(
                r.Id,
                r.Offset,
                r.Length,
                r.Metadata,
                r.Concat,
                expired ? UploadStates.Expired : r.State,
                r.TitleId,
                PublicReason.Of(r.Reason),
                r.State == UploadStates.Uploading ? r.ExpiresAt : null));
        });
        return app;
    }
}
