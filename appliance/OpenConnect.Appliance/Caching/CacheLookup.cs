using OpenConnect.Appliance.Upstream;

namespace OpenConnect.Appliance.Caching;

public enum CacheTier : byte
{
    Ram,
    Ssd,
    Miss,
}

/// <summary>
/// Where a request's bytes come from. Exactly one of <see cref="Ram"/>, <see cref="Ssd"/> or
/// <see cref="Fetch"/> is set. The caller disposes it (an SSD hit holds an open file).
/// </summary>
public readonly struct CacheLookup : IDisposable
{
    private CacheLookup(CacheTier tier, ObjectInfo? info, RamEntry? ram, OpenObject? ssd, InflightObject? fetch, FetchJoin join = FetchJoin.Started)
    {
        Join = join;
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

    /// <summary>The open object file of an SSD hit, leased for this response.</summary>
    public OpenObject? Ssd { get; }

    public InflightObject? Fetch { get; }

    /// <summary>For a miss: how it met the upstream fetch (started, collapsed, a remembered 404, refused).</summary>
    public FetchJoin Join { get; }

    /// <summary>A RAM hit; the caller has leased <paramref name="entry"/>'s memory.</summary>
    public static CacheLookup RamHit(RamEntry entry) => new(CacheTier.Ram, entry.Info, entry, null, null);

    public static CacheLookup SsdHit(OpenObject leased) => new(CacheTier.Ssd, leased.Info, null, leased, null);

    public static CacheLookup Miss(InflightObject fetch, FetchJoin join) => new(CacheTier.Miss, null, null, null, fetch, join);

    public void Dispose()
    {
        Ssd?.Release();
        Ram?.Memory.Release();
    }
}
