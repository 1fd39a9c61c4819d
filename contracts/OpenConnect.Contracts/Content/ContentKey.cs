namespace OpenConnect.Contracts.Content;

/// <summary>
/// The address of one servable object: a title-level file (<c>/v/{title}/{file}</c>, e.g. the HLS
/// master playlist or the integrity manifest) or a rendition file (<c>/v/{title}/{rendition}/{file}</c>,
/// e.g. a CMAF segment). The same key names the object at the origin, on every appliance, in fill
/// manifests and in signed-URL scopes.
/// </summary>
/// <remarks>
/// Parsing is strict on purpose: every segment has a small alphabet and a length cap, so a key can
/// never climb out of a cache directory (no <c>..</c>, no separators, no leading dot) and never
/// needs escaping on disk or in a URL.
/// </remarks>
public readonly record struct ContentKey
{
    public const string Prefix = "/v/";
    public const int MaxTitleIdLength = 64;
    public const int MaxRenditionLength = 32;
    public const int MaxFileNameLength = 128;

    private ContentKey(string titleId, string? rendition, string fileName)
    {
        TitleId = titleId;
        Rendition = rendition;
        FileName = fileName;
    }

    public string TitleId { get; }

    /// <summary>Null for title-level files (playlists, manifests, integrity manifest, thumbnails).</summary>
    public string? Rendition { get; }

    public string FileName { get; }

    /// <summary>The URL path of this object, e.g. <c>/v/abc123/720p/seg-00001.m4s</c>.</summary>
    public string Path => Rendition is null
        ? string.Concat(Prefix, TitleId, "/", FileName)
        : string.Concat(Prefix, TitleId, "/", Rendition, "/", FileName);

    /// <summary>The path relative to a storage root, with '/' separators.</summary>
    public string RelativePath => Rendition is null
        ? string.Concat(TitleId, "/", FileName)
        : string.Concat(TitleId, "/", Rendition, "/", FileName);

    public static ContentKey ForTitleFile(string titleId, string fileName)
    {
        if (!IsValidTitleId(titleId))
        {
            throw new ArgumentException($"'{titleId}' is not a valid title id ([A-Za-z0-9_-], 1..{MaxTitleIdLength}).", nameof(titleId));
        }

        if (!IsValidFileName(fileName))
        {
            throw new ArgumentException($"'{fileName}' is not a valid file name.", nameof(fileName));
        }

        return new ContentKey(titleId, null, fileName);
    }

    public static ContentKey ForRenditionFile(string titleId, string rendition, string fileName)
    {
        if (!IsValidRendition(rendition))
        {
            throw new ArgumentException($"'{rendition}' is not a valid rendition name ([a-z0-9_-], 1..{MaxRenditionLength}).", nameof(rendition));
        }

        var titleKey = ForTitleFile(titleId, fileName);
        return new ContentKey(titleKey.TitleId, rendition, titleKey.FileName);
    }

    /// <summary>Parses a URL path such as <c>/v/{title}/{rendition}/{file}</c>. No decoding is applied.</summary>
    public static bool TryParse(ReadOnlySpan<char> path, out ContentKey key)
    {
        key = default;
        if (!path.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = path[Prefix.Length..];
        var first = rest.IndexOf('/');
        if (first <= 0)
        {
            return false;
        }

        var title = rest[..first];
        rest = rest[(first + 1)..];
        var second = rest.IndexOf('/');
        ReadOnlySpan<char> rendition = default;
        ReadOnlySpan<char> file;
        if (second < 0)
        {
            file = rest;
        }
        else
        {
            rendition = rest[..second];
            file = rest[(second + 1)..];
            if (!IsValidRendition(rendition))
            {
                return false;
            }
        }

        if (!IsValidTitleId(title) || !IsValidFileName(file))
        {
            return false;
        }

        key = new ContentKey(title.ToString(), second < 0 ? null : rendition.ToString(), file.ToString());
        return true;
    }

    public static bool IsValidTitleId(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty || value.Length > MaxTitleIdLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_'))
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsValidRendition(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty || value.Length > MaxRenditionLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-' || c == '_'))
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsValidFileName(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty || value.Length > MaxFileNameLength || value[0] == '.' || value.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_' || c == '.'))
            {
                return false;
            }
        }

        return true;
    }

    public override string ToString() => Path;
}
