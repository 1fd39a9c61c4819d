using Microsoft.Win32.SafeHandles;

namespace OpenConnect.Appliance.Caching;

/// <summary>
/// An SSD-tier object file kept open between requests (like nginx's open_file_cache): a hit costs
/// no open, header read, fstat or close. Each response holds a lease (a reference on the handle);
/// evicting the object disposes the handle, and the descriptor closes when the last lease ends, so
/// an in-flight sendfile never sees its descriptor closed or reused.
/// </summary>
public sealed class OpenObject
{
    public OpenObject(ObjectInfo info, SafeFileHandle handle, long bodyOffset)
    {
        Info = info;
        Handle = handle;
        BodyOffset = bodyOffset;
    }

    public ObjectInfo Info { get; }

    public SafeFileHandle Handle { get; }

    public long BodyOffset { get; }

    /// <summary>Takes a lease; false when the object was evicted and its handle closed.</summary>
    public bool TryAcquire()
    {
        var added = false;
        try
        {
            Handle.DangerousAddRef(ref added);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }

        return added;
    }

    public void Release() => Handle.DangerousRelease();

    /// <summary>Called on eviction: the descriptor closes once every lease is released.</summary>
    public void Close() => Handle.Dispose();
}
