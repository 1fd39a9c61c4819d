using System.Buffers.Binary;

namespace OpenConnect.Origin.Pipeline.Cenc;

/// <summary>Protection System Specific Header boxes (<c>pssh</c>, ISO/IEC 23001-7 §8.1).</summary>
public static class Pssh
{
    /// <summary>The W3C common system (<c>1077efec-…</c>): a version 1 <c>pssh</c> listing key ids, read by every ClearKey CDM.</summary>
    public static readonly Guid CommonSystemId = new("1077efec-c0b2-4d02-ace3-3c1e52e2fb4b");

    /// <summary>The DASH-IF ClearKey system id used in MPDs (<c>e2719d58-…</c>).</summary>
    public static readonly Guid ClearKeySystemId = new("e2719d58-a985-b3c9-781a-b030af78d30e");

    /// <summary>The box (header included): version 1 with <paramref name="keyIds"/> when any are given, otherwise version 0.</summary>
    public static byte[] Box(Guid systemId, IReadOnlyList<byte[]> keyIds, ReadOnlySpan<byte> data)
    {
        var version = keyIds.Count > 0 ? (byte)1 : (byte)0;
        var body = new byte[16 + (version == 1 ? 4 + (16 * keyIds.Count) : 0) + 4 + data.Length];
        systemId.TryWriteBytes(body, bigEndian: true, out _);
        var offset = 16;
        if (version == 1)
        {
            BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(offset), (uint)keyIds.Count);
            offset += 4;
            foreach (var keyId in keyIds)
            {
                if (keyId.Length != 16)
                {
                    throw new ArgumentException("a key id is 16 bytes", nameof(keyIds));
                }

                keyId.CopyTo(body, offset);
                offset += 16;
            }
        }

        BinaryPrimitives.WriteUInt32BigEndian(body.AsSpan(offset), (uint)data.Length);
        data.CopyTo(body.AsSpan(offset + 4));
        return Mp4Box.Serialize([new Mp4Box("pssh", Mp4Box.FullBoxPayload(version, 0, body))]);
    }

    /// <summary>A parsed <c>pssh</c> payload (after the box header).</summary>
    public sealed record Parsed(int Version, Guid SystemId, IReadOnlyList<byte[]> KeyIds, byte[] Data);

    public static Parsed Parse(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 24)
        {
            throw new InvalidDataException("pssh is too short");
        }

        var version = payload[0];
        var systemId = new Guid(payload.Slice(4, 16), bigEndian: true);
        var offset = 20;
        var keyIds = new List<byte[]>();
        if (version > 0)
        {
            var count = BinaryPrimitives.ReadUInt32BigEndian(payload[offset..]);
            offset += 4;
            if (count > (payload.Length - offset) / 16)
            {
                throw new InvalidDataException("pssh lists more key ids than it holds");
            }

            for (var i = 0; i < count; i++)
            {
                keyIds.Add(payload.Slice(offset, 16).ToArray());
                offset += 16;
            }
        }

        var size = BinaryPrimitives.ReadUInt32BigEndian(payload[offset..]);
        if (size > payload.Length - offset - 4)
        {
            throw new InvalidDataException("pssh data is longer than the box");
        }

        return new Parsed(version, systemId, keyIds, payload.Slice(offset + 4, (int)size).ToArray());
    }
}
