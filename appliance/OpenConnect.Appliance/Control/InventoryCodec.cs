using Google.Protobuf;
using OpenConnect.Contracts.Steering.V1;
using ZstdSharp;

namespace OpenConnect.Appliance.Control;

/// <summary>The wire form of inventory entries: a Zstd-compressed <see cref="InventoryEntries"/> message.</summary>
public static class InventoryCodec
{
    /// <summary>Zstd level: inventories are small and sent often; a low level keeps the CPU cost negligible.</summary>
    public const int Level = 3;

    public static byte[] Compress(InventoryEntries entries)
    {
        using var compressor = new Compressor(Level);
        return compressor.Wrap(entries.ToByteArray()).ToArray();
    }

    public static InventoryEntries Decompress(ReadOnlySpan<byte> zstd)
    {
        using var decompressor = new Decompressor();
        return InventoryEntries.Parser.ParseFrom(decompressor.Unwrap(zstd).ToArray());
    }
}
