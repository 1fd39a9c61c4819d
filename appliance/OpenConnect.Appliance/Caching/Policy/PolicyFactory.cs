namespace OpenConnect.Appliance.Caching.Policy;

/// <summary>
/// Creates the eviction policy named in configuration (<c>s3fifo</c>, the default; <c>video</c>, which
/// values objects by title, position and rendition; <c>lru</c>; <c>fifo</c>); each can be resized
/// (fill pins shrink the SSD policy).
/// </summary>
public static class PolicyFactory
{
    public const string S3Fifo = "s3fifo";
    public const string Video = "video";
    public const string Lru = "lru";
    public const string Fifo = "fifo";

    public const string Default = S3Fifo;

    /// <summary>The names <see cref="Create"/> accepts, for option validation and messages.</summary>
    public static IReadOnlyList<string> Names { get; } = [S3Fifo, Video, Lru, Fifo];

    public static bool IsKnown(string? name) => name is S3Fifo or Video or Lru or Fifo;

    /// <param name="name">Policy name, case-sensitive as configured.</param>
    /// <param name="capacityBytes">Bytes the policy may keep resident (RAM + SSD tiers together for s3fifo).</param>
    /// <param name="s3Fifo">S3-FIFO parameters; the tuned defaults when null. Ignored by the other policies.</param>
    /// <param name="expectedObjects">Initial size of the key index, to avoid rehashing while the cache warms up.</param>
    /// <param name="video">Parameters of the <c>video</c> policy; the tuned defaults when null. Ignored by the other policies.</param>
    public static IResizablePolicy Create(string name, long capacityBytes, S3FifoOptions? s3Fifo = null, int expectedObjects = 1024, VideoPolicyOptions? video = null) => name switch
    {
        S3Fifo => new S3FifoPolicy(capacityBytes, s3Fifo, expectedObjects),
        Video => new VideoAwarePolicy(capacityBytes, video, expectedObjects),
        Lru => new LruPolicy(capacityBytes, expectedObjects),
        Fifo => new FifoPolicy(capacityBytes, expectedObjects),
        _ => throw new ArgumentException($"unknown eviction policy '{name}'; known: {string.Join(", ", Names)}", nameof(name)),
    };
}
