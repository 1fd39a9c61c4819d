using Google.Protobuf;
using OpenConnect.Contracts.Steering.V1;
using ZstdSharp;

namespace OpenConnect.Steering.ControlPlane;

/// <summary>The inventory payload on the wire: a Zstd-compressed <see cref="InventoryEntries"/> message.</summary>
public static class InventoryCodec
{
    /// <summary>Refuses payloads that inflate beyond this (64 MiB): a corrupt or hostile frame must not exhaust memory.</summary>
    public const int MaxDecodedBytes = 64 * 1024 * 1024;

    // Zstd contexts are large to create and not thread-safe: one of each per thread.
    [ThreadStatic]
    private static Compressor? _compressor;

    [ThreadStatic]
    private static Decompressor? _decompressor;

    public static ByteString Encode(IEnumerable<string> added, IEnumerable<string> removed)
    {
        var entries = new InventoryEntries();
        entries.Added.AddRange(added);
        entries.Removed.AddRange(removed);
        var compressor = _compressor ??= new Compressor(3);
        return ByteString.CopyFrom(compressor.Wrap(entries.ToByteArray()));
    }

    /// <summary>Decodes a payload; null when it is not valid Zstd or not an <see cref="InventoryEntries"/> message.</summary>
    public static InventoryEntries? TryDecode(ByteString payload)
    {
        if (payload.IsEmpty)
        {
            return new InventoryEntries();
        }

        try
        {
            var decompressor = _decompressor ??= new Decompressor();
            var size = Decompressor.GetDecompressedSize(payload.Span);
            if (size > MaxDecodedBytes)
            {
                return null;
            }

            var raw = decompressor.Unwrap(payload.Span, MaxDecodedBytes);
            return InventoryEntries.Parser.ParseFrom(raw.ToArray());
        }
        catch (Exception ex) when (ex is ZstdException or InvalidProtocolBufferException or ArgumentException)
        {
            return null;
        }
    }
}
