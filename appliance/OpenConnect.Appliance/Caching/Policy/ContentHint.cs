namespace OpenConnect.Appliance.Caching.Policy;

/// <summary>
/// What a content-aware policy knows about an object beyond its key: which title and rendition it
/// belongs to and where it sits in the title. The cache key is a hash of the path, so the hint is
/// derived from the path itself (<see cref="FromPath"/>) when the object is offered.
/// </summary>
/// <param name="Title">Hash of the title id; 0 when the object belongs to no title (the policy then treats the object as its own group).</param>
/// <param name="Rendition">Hash of the rendition name; 0 for title-level files (playlists, manifests), which every session requests whatever its rung.</param>
/// <param name="Segment">Segment number from the file name; -1 when the name carries none (init segments, playlists), which the policy treats like the first segment: every session of the rung requests them.</param>
public readonly record struct ContentHint(ulong Title, ulong Rendition, int Segment)
{
    /// <summary>No information: the object is its own group, at the start of no title.</summary>
    public static ContentHint None => new(0, 0, -1);

    public bool HasTitle => Title != 0;

    /// <summary>
    /// Reads a content path such as <c>/v/{title}/{rendition}/seg-00042.m4s</c> without allocating. The
    /// segment number is the last run of digits in the file name before its extension (at most 9 digits). A path outside
    /// <c>/v/</c> gives <see cref="None"/>. Ids are hashed, not validated: the cache already parsed the
    /// path with <c>ContentKey</c> before it reaches the policy.
    /// </summary>
    public static ContentHint FromPath(ReadOnlySpan<char> path)
    {
        if (!path.StartsWith("/v/", StringComparison.Ordinal))
        {
            return None;
        }

        var rest = path[3..];
        var slash = rest.IndexOf('/');
        if (slash <= 0)
        {
            return None;
        }

        var title = Hash(rest[..slash]);
        rest = rest[(slash + 1)..];
        slash = rest.IndexOf('/');
        if (slash < 0)
        {
            return new ContentHint(title, 0, -1);
        }

        return slash == 0 ? new ContentHint(title, 0, -1) : new ContentHint(title, Hash(rest[..slash]), SegmentNumber(rest[(slash + 1)..]));
    }

    /// <summary>
    /// The last run of ASCII digits in a file name before its extension (<c>seg-00042.m4s</c> is 42, not the
    /// 4 of <c>m4s</c>), or -1 when there is none or it does not fit 9 digits.
    /// </summary>
    public static int SegmentNumber(ReadOnlySpan<char> fileName)
    {
        var dot = fileName.LastIndexOf('.');
        if (dot >= 0)
        {
            fileName = fileName[..dot];
        }

        var end = fileName.Length;
        while (end > 0 && !char.IsAsciiDigit(fileName[end - 1]))
        {
            end--;
        }

        var start = end;
        while (start > 0 && char.IsAsciiDigit(fileName[start - 1]))
        {
            start--;
        }

        // Leading zeros do not count towards the 9-digit limit.
        while (start < end - 1 && fileName[start] == '0')
        {
            start++;
        }

        if (start == end || end - start > 9)
        {
            return -1;
        }

        var n = 0;
        for (var i = start; i < end; i++)
        {
            n = (n * 10) + (fileName[i] - '0');
        }

        return n;
    }

    /// <summary>The <see cref="Title"/> of a title id, as <see cref="FromPath"/> gives it for <c>/v/{title}/…</c> (e.g. to name titles in a <see cref="TitlePrior"/>).</summary>
    public static ulong TitleHash(ReadOnlySpan<char> title) => Hash(title);

    /// <summary>FNV-1a 64: cheap and stable across processes; 0 is reserved for "none".</summary>
    private static ulong Hash(ReadOnlySpan<char> text)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return hash == 0 ? 1 : hash;
    }
}

/// <summary>A policy that can use a <see cref="ContentHint"/> when an object is offered; without one it behaves as for <see cref="ContentHint.None"/>.</summary>
public interface IContentAwarePolicy : IResizablePolicy
{
    /// <summary>
    /// As <see cref="IEvictionPolicy.Admit"/>, with what the path says about the object; keys that entered
    /// the SSD tier during the call are appended to <paramref name="promoted"/> when given (see <see cref="ITieredPolicy"/>).
    /// </summary>
    bool Admit(ulong key, long size, ContentHint hint, List<ulong> evicted, List<ulong>? promoted = null);

    /// <summary>
    /// As <see cref="ITieredPolicy.Restore"/> (an object the SSD tier already holds comes back as main-resident),
    /// with what its stored path says, so after a restart it is valued like the objects it was fetched beside.
    /// </summary>
    bool Restore(ulong key, long size, ContentHint hint, List<ulong> evicted);
}
