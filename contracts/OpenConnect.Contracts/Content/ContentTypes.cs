namespace OpenConnect.Contracts.Content;

/// <summary>Content-Type and Cache-Control per file extension of a content path.</summary>
public static class ContentTypes
{
    /// <summary>Segments, init segments and images never change under the same name.</summary>
    public const string ImmutableCacheControl = "public, max-age=31536000, immutable";

    /// <summary>Playlists and manifests may be republished (a rung added, a title taken down): cache briefly.</summary>
    public const string ManifestCacheControl = "public, max-age=10";

    private static readonly (string Extension, string ContentType)[] Table =
    [
        (".m4s", "video/iso.segment"),
        (".m3u8", "application/vnd.apple.mpegurl"),
        (".mpd", "application/dash+xml"),
        (".mp4", "video/mp4"),
        (".m4a", "audio/mp4"),
        (".m4v", "video/mp4"),
        (".ts", "video/mp2t"),
        (".vtt", "text/vtt; charset=utf-8"),
        (".jpg", "image/jpeg"),
        (".jpeg", "image/jpeg"),
        (".png", "image/png"),
        (".webp", "image/webp"),
        (".json", "application/json"),
    ];

    public static string For(ReadOnlySpan<char> fileName)
    {
        var extension = Extension(fileName);
        foreach (var (ext, type) in Table)
        {
            if (extension.Equals(ext, StringComparison.OrdinalIgnoreCase))
            {
                return type;
            }
        }

        return "application/octet-stream";
    }

    public static string CacheControlFor(ReadOnlySpan<char> fileName) =>
        IsManifest(fileName) || Extension(fileName).Equals(".json", StringComparison.OrdinalIgnoreCase) ? ManifestCacheControl : ImmutableCacheControl;

    public static bool IsManifest(ReadOnlySpan<char> fileName)
    {
        var extension = Extension(fileName);
        return extension.Equals(".m3u8", StringComparison.OrdinalIgnoreCase) || extension.Equals(".mpd", StringComparison.OrdinalIgnoreCase);
    }

    private static ReadOnlySpan<char> Extension(ReadOnlySpan<char> fileName)
    {
        var dot = fileName.LastIndexOf('.');
        return dot < 0 ? [] : fileName[dot..];
    }
}
