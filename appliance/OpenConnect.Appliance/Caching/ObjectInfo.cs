namespace OpenConnect.Appliance.Caching;

/// <summary>
/// What the server knows about a cached object when it answers for it. Built once when the object
/// enters the cache, with the validator and type headers pre-encoded so a hit formats only the
/// per-request parts (status, Date, range, length, and a changeable object's remaining freshness).
/// </summary>
public sealed class ObjectInfo
{
    private long _freshUntilTicks;

    /// <summary>
    /// <paramref name="lifetime"/>: null for an immutable object (segments: never revalidated, sent with
    /// <paramref name="cacheControl"/>); otherwise how long a copy is fresh (<see cref="FreshnessRule"/>),
    /// fresh until <paramref name="freshUntil"/>, sent with <c>Cache-Control: public, max-age=</c>(the rest).
    /// </summary>
    public ObjectInfo(string path, long length, string etag, DateTimeOffset lastModified, string contentType, string cacheControl, TimeSpan? lifetime = null, DateTimeOffset freshUntil = default)
    {
        Path = path;
        Length = length;
        ETag = etag;
        LastModified = Http.Validators.TruncateToSeconds(lastModified);
        ContentType = contentType;
        Lifetime = lifetime;
        _freshUntilTicks = freshUntil.UtcTicks;
        CacheControl = lifetime is null ? cacheControl : "public, max-age=0";
        var cacheControlLine = lifetime is null ? $"Cache-Control: {cacheControl}\r\n" : "";
        StaticHeaders = System.Text.Encoding.ASCII.GetBytes(
            $"ETag: {etag}\r\nLast-Modified: {Http.Validators.FormatHttpDate(LastModified)}\r\n{cacheControlLine}Accept-Ranges: bytes\r\n");
        ContentTypeHeader = System.Text.Encoding.ASCII.GetBytes($"Content-Type: {contentType}\r\n");
    }

    /// <summary>The info of an object a parent sent with <paramref name="head"/>, fresh from <paramref name="now"/>.</summary>
    public static ObjectInfo FromHead(string path, Upstream.UpstreamHead head, DateTimeOffset now) =>
        new(path, head.Length, head.ETag, head.LastModified, head.ContentType, OpenConnect.Contracts.Content.ContentTypes.CacheControlFor(path), head.Lifetime, head.Lifetime is { } lifetime ? now + lifetime : default);

    /// <summary>The content path (distinguishes objects whose 64-bit keys collide).</summary>
    public string Path { get; }

    public long Length { get; }

    public string ETag { get; }

    public DateTimeOffset LastModified { get; }

    public string ContentType { get; }

    /// <summary>The <c>Cache-Control</c> of an immutable object; for a changeable one see <see cref="CacheControlAt"/>.</summary>
    public string CacheControl { get; }

    /// <summary>How long a copy stays fresh after the parent confirmed it; null when the object is immutable.</summary>
    public TimeSpan? Lifetime { get; }

    public bool IsImmutable => Lifetime is null;

    /// <summary>Until when this copy is fresh (meaningless for an immutable object).</summary>
    public DateTimeOffset FreshUntil => new(Volatile.Read(ref _freshUntilTicks), TimeSpan.Zero);

    /// <summary>ETag, Last-Modified, Cache-Control (immutable objects only) and Accept-Ranges lines.</summary>
    public byte[] StaticHeaders { get; }

    public byte[] ContentTypeHeader { get; }

    /// <summary>True when the object can change and its freshness ran out: the next request revalidates it. One compare.</summary>
    public bool IsStaleAt(DateTimeOffset now) => Lifetime is not null && now.UtcTicks >= Volatile.Read(ref _freshUntilTicks);

    /// <summary>The parent confirmed this copy (a 304): fresh for <paramref name="lifetime"/> from <paramref name="now"/>.</summary>
    public void Refresh(DateTimeOffset now, TimeSpan lifetime) => Volatile.Write(ref _freshUntilTicks, (now + lifetime).UtcTicks);

    /// <summary>Whole seconds of freshness left at <paramref name="now"/> (0 once stale): the <c>max-age</c> players get.</summary>
    public long RemainingSeconds(DateTimeOffset now) => Math.Max(0, (Volatile.Read(ref _freshUntilTicks) - now.UtcTicks) / TimeSpan.TicksPerSecond);

    /// <summary>The <c>Cache-Control</c> value to send at <paramref name="now"/>.</summary>
    public string CacheControlAt(DateTimeOffset now) => Lifetime is null
        ? CacheControl
        : $"public, max-age={RemainingSeconds(now).ToString(System.Globalization.CultureInfo.InvariantCulture)}";
}
