using Microsoft.Win32.SafeHandles;

namespace OpenConnect.Appliance.Storage;

/// <summary>
/// An object opened for serving: a read-only file handle plus where the body lies in the file, ready for
/// <c>sendfile(fd, BodyOffset, BodyLength)</c> or <see cref="RandomAccess.Read(SafeFileHandle, Span{byte}, long)"/>.
/// The caller owns the handle and disposes this object when the response is done. The handle stays valid
/// after the object is removed or replaced (POSIX unlink/rename semantics): an in-flight response finishes
/// with the bytes it started with.
/// </summary>
public sealed class StoredObject : IDisposable
{
    internal StoredObject(SafeFileHandle handle, in ObjectHeader header)
    {
        Handle = handle;
        BodyOffset = ObjectHeader.Length;
        BodyLength = header.BodyLength;
        ContentType = header.ContentType;
        ETag = header.ETag;
        LastModified = DateTimeOffset.FromUnixTimeSeconds(header.LastModifiedUnixSeconds);
        Path = header.Path;
        Sha256 = header.Sha256;
    }

    public SafeFileHandle Handle { get; }

    public long BodyOffset { get; }

    public long BodyLength { get; }

    public string ContentType { get; }

    public string ETag { get; }

    public DateTimeOffset LastModified { get; }

    /// <summary>The content path stored in the header (equal to the path the object was opened with).</summary>
    public string Path { get; }

    /// <summary>SHA-256 of the body as recorded at write time.</summary>
    public ReadOnlyMemory<byte> Sha256 { get; }

    public void Dispose() => Handle.Dispose();
}
