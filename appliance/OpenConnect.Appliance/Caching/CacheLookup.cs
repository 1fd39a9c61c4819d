using OpenConnect.Appliance.Http;
using OpenConnect.Appliance.Storage;
using OpenConnect.Appliance.Upstream;

namespace OpenConnect.Appliance.Caching;

public enum CacheTier : byte
{
    Ram,
    Ssd,
    Miss,
}

/// <summary>An object body held in memory: served straight from this array, never copied per request.</summary>
public sealed class RamEntry(ObjectInfo info, byte[] body)
{
    public ObjectInfo Info { get; } = info;

    public byte[] Body { get; } = body;
}

/// <summary>
/// Where a request's bytes come from. Exactly one of <see cref="Ram"/>, <see cref="Ssd"/> or
/// <see cref="Fetch"/> is set. The caller disposes it (an SSD hit holds an open file).
/// </summary>
public readonly struct CacheLookup : IDisposable
{
    private CacheLookup(CacheTier tier, ObjectInfo? info, RamEntry? ram, StoredObject? ssd, InflightObject? fetch)
    {
        Tier = tier;
        Info = info;
        Ram = ram;
        Ssd = ssd;
        Fetch = fetch;
    }

    public CacheTier Tier { get; }

    /// <summary>Headers for a hit; null for a miss until the parent answers.</summary>
    public ObjectInfo? Info { get; }

    public RamEntry? Ram { get; }

    public StoredObject? Ssd { get; }

    public InflightObject? Fetch { get; }

    public static CacheLookup RamHit(RamEntry entry) => new(CacheTier.Ram, entry.Info, entry, null, null);

    public static CacheLookup SsdHit(ObjectInfo info, StoredObject stored) => new(CacheTier.Ssd, info, null, stored, null);

    public static CacheLookup Miss(InflightObject fetch) => new(CacheTier.Miss, null, null, null, fetch);

    public void Dispose() => Ssd?.Dispose();
}
