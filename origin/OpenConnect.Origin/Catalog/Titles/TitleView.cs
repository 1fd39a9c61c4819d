namespace OpenConnect.Origin.Catalog.Titles;

/// <summary>A title as the API returns it: everything a player needs to start, plus the social counters.</summary>
public sealed record TitleView(
    string Id,
    string? UploaderId,
    string? ChannelId,
    string Title,
    string Description,
    IReadOnlyList<string> Tags,
    string Status,
    string? FailureReason,
    double? DurationSeconds,
    IReadOnlyList<RenditionInfo> Renditions,
    ManifestUrls Manifests,
    string? PosterUrl,
    string? StoryboardUrl,
    DateTimeOffset CreatedAt,
    DateTimeOffset? PublishedAt,
    DateTimeOffset UpdatedAt,
    long Views,
    long Likes,
    long Dislikes);

public sealed record ManifestUrls(string? Hls, string? Dash);

/// <summary>One page of a list, with the cursor of the next page (null on the last).</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);
