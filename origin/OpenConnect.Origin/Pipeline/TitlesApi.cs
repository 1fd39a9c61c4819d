using OpenConnect.Contracts.Content;

namespace OpenConnect.Origin.Pipeline;

/// <summary><c>GET /api/titles</c> (newest first) and <c>GET /api/titles/{id}</c>: state, progress, metadata, source facts, renditions and URLs.</summary>
public static class TitlesApi
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    public static WebApplication MapTitlesApi(this WebApplication app)
    {
        app.MapGet("/api/titles", (HttpContext context, TitleStore store) =>
        {
            var limit = DefaultLimit;
            if (context.Request.Query.TryGetValue("limit", out var raw) && (!int.TryParse(raw, out limit) || limit < 1 || limit > MaxLimit))
            {
                return Results.BadRequest(new { error = $"limit must be an integer between 1 and {MaxLimit}" });
            }

            return Results.Ok(new { titles = store.List(limit).Select(t => Describe(t, steps: null)) });
        });

        app.MapGet("/api/titles/{id}", (string id, TitleStore store) =>
        {
            if (!ContentKey.IsValidTitleId(id))
            {
                return Results.BadRequest(new { error = "not a valid title id" });
            }

            var title = store.Get(id);
            return title is null
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
            reason = t.Reason,
            metadata = new
            {
                title = t.Metadata.GetValueOrDefault("title"),
                description = t.Metadata.GetValueOrDefault("description"),
                tags = t.Metadata.GetValueOrDefault("tags") is { Length: > 0 } tags
                    ? tags.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    : [],
                filename = t.Metadata.GetValueOrDefault("filename"),
            },
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
            steps = steps?.Select(x => new { name = x.Name, state = x.State, attempts = x.Attempts, startedAt = x.StartedAt, finishedAt = x.FinishedAt, error = x.Error }),
        };
    }
}
