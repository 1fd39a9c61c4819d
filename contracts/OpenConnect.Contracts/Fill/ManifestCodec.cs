using Google.Protobuf;
using OpenConnect.Contracts.Fill.V1;
using ZstdSharp;

namespace OpenConnect.Contracts.Fill;

/// <summary>
/// A fill manifest on the wire and on disk: a Zstd-compressed <see cref="FillManifest"/> message.
/// The fill controller encodes it; appliances decode it (and keep the bytes as they came).
/// </summary>
public static class ManifestCodec
{
    /// <summary>Refuses manifests that inflate beyond this (256 MiB).</summary>
    public const int MaxDecodedBytes = 256 << 20;

    public static byte[] Encode(FillManifest manifest)
    {
        using var compressor = new Compressor(3);
        return compressor.Wrap(manifest.ToByteArray()).ToArray();
    }

    /// <summary>Throws <see cref="FormatException"/> when the bytes are not a Zstd-compressed manifest.</summary>
    public static FillManifest Decode(ReadOnlySpan<byte> zstd)
    {
        try
        {
            using var decompressor = new Decompressor();
            var size = Decompressor.GetDecompressedSize(zstd);
            if (size > MaxDecodedBytes)
            {
                throw new FormatException($"fill manifest inflates to {size} bytes, more than {MaxDecodedBytes}");
            }

            return FillManifest.Parser.ParseFrom(decompressor.Unwrap(zstd).ToArray());
        }
        catch (Exception ex) when (ex is ZstdException or InvalidProtocolBufferException)
        {
            throw new FormatException($"fill manifest is not a Zstd-compressed FillManifest: {ex.Message}", ex);
        }
    }
}
