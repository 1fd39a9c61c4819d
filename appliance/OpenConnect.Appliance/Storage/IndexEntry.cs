using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace OpenConnect.Appliance.Storage;

[Flags]
internal enum IndexEntryFlags
{
    None = 0,

    /// <summary>
    /// Recovered from disk rather than written in this process lifetime: the body is checked against the
    /// header's SHA-256 the first time the object is opened for serving. Never persisted as set.
    /// </summary>
    Unverified = 1,
}

/// <summary>
/// One object in the index: a fixed-size, blittable value so FASTER stores it inline in its log (no object
/// log) and the in-memory map holds it without a per-entry allocation. 48 bytes.
/// </summary>
/// <remarks>
/// The first 16 bytes of the body's SHA-256 are kept (not all 32): enough to tell two versions of an object
/// apart without opening the file, while the full hash stays in the file header where verification reads it.
/// </remarks>
[StructLayout(LayoutKind.Sequential)]
internal readonly record struct IndexEntry(
    long BodyLength,
    int HeaderLength,
    IndexEntryFlags Flags,
    long LastModifiedUnixSeconds,
    ulong Sequence,
    ulong Sha256Prefix0,
    ulong Sha256Prefix1)
{
    public long FileLength => HeaderLength + BodyLength;

    public bool IsUnverified => (Flags & IndexEntryFlags.Unverified) != 0;

    public static IndexEntry Create(long bodyLength, int headerLength, long lastModifiedUnixSeconds, ulong sequence, ReadOnlySpan<byte> sha256, IndexEntryFlags flags) =>
        new(
            bodyLength,
            headerLength,
            flags,
            lastModifiedUnixSeconds,
            sequence,
            BinaryPrimitives.ReadUInt64LittleEndian(sha256),
            BinaryPrimitives.ReadUInt64LittleEndian(sha256[8..]));

    public IndexEntry WithFlags(IndexEntryFlags flags) => this with { Flags = flags };
}
