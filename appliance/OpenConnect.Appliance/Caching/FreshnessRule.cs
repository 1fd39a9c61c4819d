using OpenConnect.Contracts.Content;

namespace OpenConnect.Appliance.Caching;

/// <summary>
/// Which cached objects can change under the same name and for how long a copy is fresh. Segments and
/// init segments never change (a republish writes new names): they are immutable and never revalidated.
/// Playlists (<c>.m3u8</c>, <c>.mpd</c>) change when a title is republished, and so does anything else a
/// parent sends with a <c>Cache-Control</c> that lacks <c>immutable</c>: such an object is fresh for the
/// parent's <c>max-age</c> (<c>no-cache</c> means zero), else for <c>Appliance:Cache:PlaylistTtl</c>, and
/// is revalidated with the parent once stale.
/// </summary>
public static class FreshnessRule
{
    /// <summary>The longest freshness a parent's <c>max-age</c> can give a changeable object: one day.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(1);

    /// <summary>
    /// The freshness lifetime of the object at <paramref name="path"/>, or null when it is immutable.
    /// <paramref name="parentCacheControl"/>: the parent's <c>Cache-Control</c> value, null when it sent none
    /// (or when the object was stored before and the value is not known).
    /// </summary>
    public static TimeSpan? LifetimeFor(ReadOnlySpan<char> path, string? parentCacheControl, TimeSpan playlistTtl)
    {
        if (IsSegment(path))
        {
            return null;
        }

        if (!ContentTypes.IsManifest(path) && (parentCacheControl is null || HasDirective(parentCacheControl, "immutable")))
        {
            return null;
        }

        if (parentCacheControl is not null)
        {
            if (HasDirective(parentCacheControl, "no-cache") || HasDirective(parentCacheControl, "no-store"))
            {
                return TimeSpan.Zero;
            }

            if (TryMaxAge(parentCacheControl, out var maxAge))
            {
                return maxAge;
            }
        }

        return playlistTtl;
    }

    /// <summary>Media segments and init segments: their names change with their bytes.</summary>
    public static bool IsSegment(ReadOnlySpan<char> path)
    {
        var dot = path.LastIndexOf('.');
        var extension = dot < 0 ? [] : path[dot..];
        return extension.Equals(".m4s", StringComparison.OrdinalIgnoreCase)
            || extension.Equals(".mp4", StringComparison.OrdinalIgnoreCase)
            || extension.Equals(".m4a", StringComparison.OrdinalIgnoreCase)
            || extension.Equals(".m4v", StringComparison.OrdinalIgnoreCase)
            || extension.Equals(".ts", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The <c>max-age</c> (or <c>s-maxage</c>, which wins for a shared cache) of a <c>Cache-Control</c> value, capped at <see cref="MaxLifetime"/>.</summary>
    public static bool TryMaxAge(ReadOnlySpan<char> cacheControl, out TimeSpan maxAge)
    {
        maxAge = default;
        var found = false;
        foreach (var range in cacheControl.Split(','))
        {
            var directive = cacheControl[range].Trim();
            var equals = directive.IndexOf('=');
            if (equals < 0)
            {
                continue;
            }

            var name = directive[..equals].Trim();
            var shared = name.Equals("s-maxage", StringComparison.OrdinalIgnoreCase);
            if (!shared && !name.Equals("max-age", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var value = directive[(equals + 1)..].Trim().Trim('"');
            if (!long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds))
            {
                continue;
            }

            var age = seconds >= MaxLifetime.TotalSeconds ? MaxLifetime : TimeSpan.FromSeconds(seconds);
            if (shared)
            {
                maxAge = age;
                return true;
            }

            maxAge = age;
            found = true;
        }

        return found;
    }

    private static bool HasDirective(ReadOnlySpan<char> cacheControl, string name)
    {
        foreach (var range in cacheControl.Split(','))
        {
            var directive = cacheControl[range].Trim();
            var equals = directive.IndexOf('=');
            if ((equals < 0 ? directive : directive[..equals].Trim()).Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
