using System.Runtime.InteropServices;

namespace OpenConnect.Appliance.Caching;

/// <summary>
/// memfd_create(2): an anonymous in-memory file (shmem). RAM-tier bodies live in these so the
/// serving path sends them with sendfile exactly like SSD object files. The only P/Invoke of the
/// cache; the serving path's system calls are in <c>Serving/Native.cs</c>.
/// </summary>
internal static partial class MemoryFile
{
    private const uint MFD_CLOEXEC = 0x0001;

    /// <summary>Creates a memfd (close-on-exec); returns its descriptor, or -1 when the kernel refuses one.</summary>
    public static int Create(string name) => MemfdCreate(name, MFD_CLOEXEC);

    [LibraryImport("libc", EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MemfdCreate(string name, uint flags);
}
