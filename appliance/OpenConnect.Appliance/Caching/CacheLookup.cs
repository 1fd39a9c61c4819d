using OpenConnect.Appliance.Http;
using OpenConnect.Appliance.Upstream;

namespace OpenConnect.Appliance.Caching;

public enum CacheTier : byte
{
    Ram,
    Ssd,
    Miss,
}

/// <summary>
/// An object body held in RAM as a memfd (anonymous shared memory). RAM hits go out with sendfile
/// from it exactly like SSD hits, so a RAM hit copies nothing in user space: the bytes are written
/// into the memfd once, at admission. Responses lease it; eviction closes it after the last lease.
/// </summary>
public sealed class RamEntry
{
    private RamEntry(OpenObject memory) => Memory = memory;

    public ObjectInfo Info => Memory.Info;

    public OpenObject Memory { get; }

    /// <summary>Copies <paramref name="body"/> into a new memfd; null when the kernel refuses one (no memory, no descriptors).</summary>
    public static RamEntry? TryCreate(ObjectInfo info, ReadOnlySpan<byte> body)
    {
        var fd = Serving.Native.MemfdCreate("openconnect-ram", Serving.Native.MFD_CLOEXEC);
        if (fd < 0)
        {
            return null;
        }

        var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true);
        try
        {
            RandomAccess.Write(handle, body, 0);
        }
        catch (IOException)
        {
            handle.Dispose();
            return null;
        }

        return new RamEntry(new OpenObject(info, handle, 0));
    }

    /// <summary>A copy of the body (for writing it to the SSD tier); null when the entry was closed.</summary>
    public byte[]? ReadBody()
    {
        if (!Memory.TryAcquire())
        {
            return null;
        }

        try
        {
            var body = GC.AllocateUninitializedArray<byte>(checked((int)Info.Length));
            var read = 0;
            while (read < body.Length)
            {
                var n = RandomAccess.Read(Memory.Handle, body.AsSpan(read), read);
                if (n == 0)
                {
                    return null;
                }

                read += n;
            }

            return body;
        }
        finally
        {
            Memory.Release();
        }
    }
}

/// <summary>
/// Where a request's bytes come from. Exactly one of <see cref="Ram"/>, <see cref="Ssd"/> or
/// <see cref="Fetch"/> is set. The caller disposes it (an SSD hit holds an open file).
/// </summary>
public readonly struct CacheLookup : IDisposable
{
    private CacheLookup(CacheTier tier, ObjectInfo? info, RamEntry? ram, OpenObject? ssd, InflightObject? fetch)
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

    /// <summary>The open object file of an SSD hit, leased for this response.</summary>
    public OpenObject? Ssd { get; }

    public InflightObject? Fetch { get; }

    /// <summary>A RAM hit; the caller has leased <paramref name="entry"/>'s memory.</summary>
    public static CacheLookup RamHit(RamEntry entry) => new(CacheTier.Ram, entry.Info, entry, null, null);

    public static CacheLookup SsdHit(OpenObject leased) => new(CacheTier.Ssd, leased.Info, null, leased, null);

    public static CacheLookup Miss(InflightObject fetch) => new(CacheTier.Miss, null, null, null, fetch);

    public void Dispose()
    {
        Ssd?.Release();
        Ram?.Memory.Release();
    }
}
