using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace OpenConnect.Appliance.Caching;

/// <summary>
/// The 64-bit cache key of a content path: the first 8 bytes of SHA-256 over its UTF-8 bytes. Stable
/// across processes and machines (the SSD index survives restarts on it); collisions are resolved by
/// the full path the SSD tier stores with each object. SHA-256 is hardware-accelerated and costs
/// well under a microsecond for a path, nothing next to sending a segment.
/// </summary>
public static class KeyHash
{
    public static ulong Of(ReadOnlySpan<char> path)
    {
        Span<byte> utf8 = stackalloc byte[512];
        var bytes = Encoding.UTF8.GetMaxByteCount(path.Length) <= utf8.Length ? utf8[..Encoding.UTF8.GetBytes(path, utf8)] : Encoding.UTF8.GetBytes(path.ToString());
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(bytes, digest);
        return BinaryPrimitives.ReadUInt64LittleEndian(digest);
    }
}
