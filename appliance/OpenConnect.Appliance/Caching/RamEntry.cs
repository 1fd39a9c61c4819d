namespace OpenConnect.Appliance.Caching;

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
        var fd = MemoryFile.Create("openconnect-ram");
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
