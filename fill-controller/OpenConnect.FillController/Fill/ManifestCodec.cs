using Google.Protobuf;
using OpenConnect.Contracts.Fill.V1;
using ZstdSharp;

namespace OpenConnect.FillController.Fill;

/// <summary>A manifest on the wire and in the store: a Zstd-compressed <see cref="FillManifest"/> message.</summary>
public static class ManifestCodec
{
    public static byte[] Encode(FillManifest manifest)
    {
        using var compressor = new Compressor(3);
        return compressor.Wrap(manifest.ToByteArray()).ToArray();
    }

    public static FillManifest Decode(ReadOnlySpan<byte> zstd)
    {
        using var decompressor = new Decompressor();
        return FillManifest.Parser.ParseFrom(decompressor.Unwrap(zstd).ToArray());
    }
}
