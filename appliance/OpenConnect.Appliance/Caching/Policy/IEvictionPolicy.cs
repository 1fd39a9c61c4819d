namespace OpenConnect.Appliance.Caching.Policy;

/// <summary>
/// Decides which objects the cache keeps. Pure bookkeeping: it holds keys and sizes, never bodies,
/// so the cache and the <c>cache-sim</c> bench replay exactly the same code.
/// Capacity is in bytes because segments range from tens of KB to several MB: a count bound would
/// let a few large renditions overflow the tier.
/// Not thread-safe: the cache serialises calls (one policy per shard).
/// </summary>
public interface IEvictionPolicy
{
    long CapacityBytes { get; }

    long UsedBytes { get; }

    int Count { get; }

    bool Contains(ulong key);

    /// <summary>Records a request; returns true when the object is resident (a hit). Must be O(1).</summary>
    bool Access(ulong key);

    /// <summary>
    /// Offers an object that just missed. Returns true if it is now resident; every key evicted to
    /// make room is appended to <paramref name="evicted"/>.
    /// </summary>
    bool Admit(ulong key, long size, List<ulong> evicted);

    bool Remove(ulong key);
}

/// <summary>
/// A policy whose byte capacity can change at run time: the SSD tier's policy shrinks by the bytes
/// fill pins (pinned objects are outside the policy) and grows back when they are unpinned.
/// </summary>
public interface IResizablePolicy : IEvictionPolicy
{
    /// <summary>Sets the capacity (at least 1 byte), evicting until the resident bytes fit; evicted keys are appended to <paramref name="evicted"/>.</summary>
    void Resize(long capacityBytes, List<ulong> evicted);
}
