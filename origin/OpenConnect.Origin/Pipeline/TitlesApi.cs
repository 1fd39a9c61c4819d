using OpenConnect.Contracts.Content;
using OpenConnect.Origin.Pipeline.Jobs;

namespace OpenConnect.Origin.Pipeline;

/// <summary>
/// <c>GET /api/titles</c> (newest first) and <c>GET /api/titles/{id}</c>: state, progress, metadata,
/// source facts, renditions and URLs of the caller's own uploads (all of them for an admin; see
/// <see cref="PipelineCaller"/>: 401 without a token, 404 for another user's title). Reasons and
/// step errors are the public form (<see cref="PublicReason"/>).
/// </summary>
public static class TitlesApi
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    public static WebApplication MapTitlesApi(this WebApplication app)
    {
        app.MapGet("/api/titles", async (HttpContext context, JobStore store) =>
        {
            var limit = DefaultLimit;
            if (context.Request.Query.TryGetValue("limit", out var raw) && (!int.TryParse(raw, out limit) || limit < 1 || limit > MaxLimit))
            {
                return Results.BadRequest(new { error = $"limit must be an integer between 1 and {MaxLimit}" });
            }

            var (caller, error) = await PipelineCaller.FromAsync(context);
            if (caller is null)
            {
                return error!;
            }

            context.Response.Headers.CacheControl = "no-store";
            var titles = caller.IsAdmin
                ? store.List(limit)
                : store.ListByUploader(caller.Grant?.UserId ?? "", caller.OpenIngest, limit);
            return Results.Ok(new { titles = titles.Select(t => Describe(t, steps: null)) });
        });

        app.MapGet("/api/titles/{id}", async (HttpContext context, string id, JobStore store) =>
        {
            if (!ContentKey.IsValidTitleId(id))
            {
                return Results.BadRequest(new { error = "not a valid title id" });
            }

            var (caller, error) = await PipelineCaller.FromAsync(context);
            if (caller is null)
            {
                return error!;
            }

            context.Response.Headers.CacheControl = "no-store";
            var title = store.Get(id);
            return title is null || !caller.MaySee(title.Metadata)
                ? Results.NotFound(new { error = $"title {id} does not exist" })
                : Results.Ok(Describe(title, store.Steps(id)));
        });
        return app;
    }

    private static object Describe(TitleRecord t, IReadOnlyList<StepRecord>? steps)
    {
        var published = t.State == TitleStates.Published;
        var prefix = ContentKey.Prefix + t.Id + "/";
        return new
        {
            id = t.Id,
            state = t.State,
            step = t.Step,
            percent = published ? 100 : t.Percent,
            reason = PublicReason.Of(t.Reason),
            metadata = new
            {
                title = t.Metadata.GetValueOrDefault("title"),
                description = t.Metadata.GetValueOrDefault("description"),
                tags = t.Metadata.GetValueOrDefault("tags") is { Length: > 0 } tags
                    ? tags.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    : [],
                filename = t.Metadata.GetValueOrDefault("filename"),
            },
            @protected = t.IsProtected,
            source = t.Source is { } s
                ? new { container = s.Container, duration = s.DurationSeconds, width = s.Width, height = s.Height, videoCodec = s.VideoCodec, audioCodec = s.AudioCodec, frameRate = s.FrameRate }
                : null,
            renditions = t.Renditions,
            urls = published ? new { hls = prefix + "master.m3u8", dash = prefix + "manifest.mpd" } : null,
            poster = published ? Publishing.ParentEndpoint.PosterPath(t.Id) : null,
            storyboard = published ? prefix + "storyboard.vtt" : null,
            createdAt = t.CreatedAt,
            updatedAt = t.UpdatedAt,
            publishedAt = t.PublishedAt,
            nextAttemptAt = t.NextAttemptAt,
            steps = steps?.Select(x => new { name = x.Name, state = x.State, attempts = x.Attempts, startedAt = x.StartedAt, finishedAt = x.FinishedAt, error = PublicReason.Of(x.Error) }),
        };
    }
}
