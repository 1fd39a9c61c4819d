using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace OpenConnect.Appliance.Storage;

/// <summary>
/// The fixed 4096-byte header at the start of every object file; the body follows at offset
/// <see cref="Length"/>, so <c>sendfile(fd, offset = Length, count = BodyLength)</c> serves it as is.
/// </summary>
/// <remarks>
/// Layout (little-endian):
/// <code>
///  0  magic "OCOBJ1"          6 bytes
///  6  version (1)             u16
///  8  header length (4096)    u32
/// 12  flags (0)               u32
/// 16  body length             i64
/// 24  store sequence number   u64
/// 32  key hash                u64   (also the file name; recovery checks they agree)
/// 40  last-modified           i64   unix seconds
/// 48  SHA-256 of the body     32 bytes
/// 80  key / content type / ETag byte lengths, reserved   4 x u16
/// 88  header checksum         u64   XxHash3 of the whole header with this field zeroed
/// 96  key (UTF-8 content path), content type, ETag; zero padding to 4096
/// </code>
/// The body's SHA-256 covers the body only; the checksum covers the header, so a torn or foreign header
/// is recognised at recovery without reading the body. The header is one page, so the body starts
/// page-aligned (good for the page cache and for O_DIRECT readers) and a header read is one 4 KiB pread.
/// </remarks>
internal readonly record struct ObjectHeader(
    long BodyLength,
    ulong Sequence,
    ulong KeyHash,
    long LastModifiedUnixSeconds,
    byte[] Sha256,
    string Path,
    string ContentType,
    string ETag)
{
    public const int Length = 4096;
    public const ushort Version = 1;
    public const int Sha256Length = 32;
    public const int MaxPathBytes = 2048;
    public const int MaxContentTypeBytes = 256;
    public const int MaxETagBytes = 512;

    private const int ChecksumOffset = 88;
    private const int VariableOffset = 96;

    private static ReadOnlySpan<byte> Magic => "OCOBJ1"u8;

    /// <summary>True when the three strings fit the header (checked before a write starts).</summary>
    public static bool Fits(string path, string contentType, string etag) =>
        Encoding.UTF8.GetByteCount(path) <= MaxPathBytes
        && Encoding.UTF8.GetByteCount(contentType) <= MaxContentTypeBytes
        && Encoding.UTF8.GetByteCount(etag) <= MaxETagBytes;

    /// <summary>Writes the header into <paramref name="destination"/> (exactly <see cref="Length"/> bytes).</summary>
    public void Write(Span<byte> destination)
    {
        var header = destination[..Length];
        header.Clear();
        Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], Version);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Length);
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], BodyLength);
        BinaryPrimitives.WriteUInt64LittleEndian(header[24..], Sequence);
        BinaryPrimitives.WriteUInt64LittleEndian(header[32..], KeyHash);
        BinaryPrimitives.WriteInt64LittleEndian(header[40..], LastModifiedUnixSeconds);
        Sha256.AsSpan(0, Sha256Length).CopyTo(header[48..]);

        var offset = VariableOffset;
        var pathBytes = Encoding.UTF8.GetBytes(Path, header[offset..]);
        offset += pathBytes;
        var typeBytes = Encoding.UTF8.GetBytes(ContentType, header[offset..]);
        offset += typeBytes;
        var etagBytes = Encoding.UTF8.GetBytes(ETag, header[offset..]);
        BinaryPrimitives.WriteUInt16LittleEndian(header[80..], (ushort)pathBytes);
        BinaryPrimitives.WriteUInt16LittleEndian(header[82..], (ushort)typeBytes);
        BinaryPrimitives.WriteUInt16LittleEndian(header[84..], (ushort)etagBytes);
        BinaryPrimitives.WriteUInt64LittleEndian(header[ChecksumOffset..], ComputeChecksum(header));
    }

    /// <summary>
    /// Parses and sanity-checks a header: magic, version, length, checksum, string lengths, non-negative body
    /// length. Returns false for anything that is not a whole, intact version-1 header.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out ObjectHeader header)
    {
        header = default;
        if (source.Length < Length
            || !source.StartsWith(Magic)
            || BinaryPrimitives.ReadUInt16LittleEndian(source[6..]) != Version
            || BinaryPrimitives.ReadUInt32LittleEndian(source[8..]) != Length)
        {
            return false;
        }

        var bytes = source[..Length];
        var storedChecksum = BinaryPrimitives.ReadUInt64LittleEndian(bytes[ChecksumOffset..]);
        if (ComputeChecksum(bytes) != storedChecksum)
        {
            return false;
        }

        var bodyLength = BinaryPrimitives.ReadInt64LittleEndian(bytes[16..]);
        int pathBytes = BinaryPrimitives.ReadUInt16LittleEndian(bytes[80..]);
        int typeBytes = BinaryPrimitives.ReadUInt16LittleEndian(bytes[82..]);
        int etagBytes = BinaryPrimitives.ReadUInt16LittleEndian(bytes[84..]);
        if (bodyLength < 0 || pathBytes == 0 || pathBytes > MaxPathBytes || typeBytes > MaxContentTypeBytes || etagBytes > MaxETagBytes)
        {
            return false;
        }

        var offset = VariableOffset;
        var path = Encoding.UTF8.GetString(bytes.Slice(offset, pathBytes));
        offset += pathBytes;
        var contentType = Encoding.UTF8.GetString(bytes.Slice(offset, typeBytes));
        offset += typeBytes;
        var etag = Encoding.UTF8.GetString(bytes.Slice(offset, etagBytes));

        header = new ObjectHeader(
            bodyLength,
            BinaryPrimitives.ReadUInt64LittleEndian(bytes[24..]),
            BinaryPrimitives.ReadUInt64LittleEndian(bytes[32..]),
            BinaryPrimitives.ReadInt64LittleEndian(bytes[40..]),
            bytes.Slice(48, Sha256Length).ToArray(),
            path,
            contentType,
            etag);
        return true;
    }

    public long FileLength => Length + BodyLength;

    public IndexEntry ToIndexEntry(IndexEntryFlags flags) =>
        IndexEntry.Create(BodyLength, Length, LastModifiedUnixSeconds, Sequence, Sha256, flags);

    private static ulong ComputeChecksum(ReadOnlySpan<byte> header)
    {
        var hash = new XxHash3();
        hash.Append(header[..ChecksumOffset]);
        hash.Append(stackalloc byte[8]);
        hash.Append(header[(ChecksumOffset + 8)..]);
        return hash.GetCurrentHashAsUInt64();
    }
}
