namespace OpenConnect.Origin.Ingest;

/// <summary><c>GET /api/uploads/{id}</c>: an upload's progress and what the pipeline made of it, as JSON.</summary>
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
        app.MapGet("/api/uploads/{id}", (string id, UploadStore store, TimeProvider time) =>
        {
            if (!UploadStore.IsValidId(id) || !store.TryGet(id, out var entry))
            {
                return Results.NotFound(new { error = "no such upload" });
            }

            var r = entry.Current;
            var expired = r.State == UploadStates.Expired || (r.State == UploadStates.Uploading && time.GetUtcNow() >= r.ExpiresAt);
            return Results.Ok(new UploadStatus(
                r.Id,
                r.Offset,
                r.Length,
                r.Metadata,
                r.Concat,
                expired ? UploadStates.Expired : r.State,
                r.TitleId,
                r.Reason,
                r.State == UploadStates.Uploading ? r.ExpiresAt : null));
        });
        return app;
    }
}
