namespace OpenConnect.Origin.Catalog.Titles;

/// <summary>
/// The seam the transcode pipeline writes through: every time a title is created or changes state,
/// the pipeline calls <see cref="UpsertFromPipelineAsync"/>. A transition to <c>published</c> makes
/// the title searchable (same transaction) and notifies the channel's subscribers.
/// </summary>
public interface ICatalogTitles
{
    /// <exception cref="ArgumentException">The update is invalid (bad id, unknown status, oversized field).</exception>
    Task UpsertFromPipelineAsync(TitleUpdate update, CancellationToken ct);
}

/// <summary>Title states as the pipeline reports them.</summary>
public static class TitleStatus
{
    public const string Queued = "queued";
    public const string Processing = "processing";
    public const string Published = "published";
    public const string Rejected = "rejected";
    public const string Failed = "failed";
    public const string Delayed = "delayed";

    /// <summary>Taken down by an admin (deleted or unpublished): out of lists and search, 410 on read.</summary>
    public const string Removed = "removed";

    public static bool IsKnown(string status) => status is Queued or Processing or Published or Rejected or Failed or Delayed or Removed;
}

/// <summary>
/// One state report from the pipeline. Null text fields leave the stored value unchanged, so an
/// uploader's edits survive later state changes; the other fields replace what is stored.
/// </summary>
public sealed record TitleUpdate
{
    public required string Id { get; init; }

    public required string Status { get; init; }

    public string? UploaderId { get; init; }

    public string? ChannelId { get; init; }

    public string? Title { get; init; }

    public string? Description { get; init; }

    public IReadOnlyList<string>? Tags { get; init; }

    public string? FailureReason { get; init; }

    public double? DurationSeconds { get; init; }

    public IReadOnlyList<RenditionInfo>? Renditions { get; init; }

    /// <summary>E.g. <c>/v/{id}/master.m3u8</c>.</summary>
    public string? HlsManifestUrl { get; init; }

    /// <summary>E.g. <c>/v/{id}/manifest.mpd</c>.</summary>
    public string? DashManifestUrl { get; init; }

    public string? PosterUrl { get; init; }

    public string? StoryboardUrl { get; init; }

    public DateTimeOffset? CreatedAt { get; init; }

    public DateTimeOffset? PublishedAt { get; init; }
}

/// <summary>One rung of a title's ladder.</summary>
public sealed record RenditionInfo(string Name, int Width, int Height, string Codec, long BitrateBps);
