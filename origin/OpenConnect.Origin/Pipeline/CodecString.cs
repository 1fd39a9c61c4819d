using System.Buffers.Binary;
using System.Globalization;

namespace OpenConnect.Origin.Pipeline;

/// <summary>
/// Reads the RFC 6381 <c>CODECS</c> string of a CMAF track from its init segment: the sample
/// entry's decoder configuration record (avcC, hvcC, vpcC, av1C) carries profile, level and tier,
/// so the playlists advertise what the bitstream really is.
/// </summary>
public static class CodecString
{
    public static string FromInitSegment(string initPath) => FromInitSegment(File.ReadAllBytes(initPath));

    public static string FromInitSegment(ReadOnlySpan<byte> init)
    {
        var stsd = Find(init, ["moov", "trak", "mdia", "minf", "stbl", "stsd"]);
        if (stsd.Length < 16)
        {
            throw new InvalidDataException("init segment has no sample description (stsd)");
        }

        // stsd: version/flags (4), entry count (4), then the first sample entry.
        var entry = stsd[8..];
        var entrySize = (int)BinaryPrimitives.ReadUInt32BigEndian(entry);
        var type = System.Text.Encoding.ASCII.GetString(entry.Slice(4, 4));
        entry = entry[..Math.Min(entrySize, entry.Length)];
        switch (type)
        {
            case "mp4a":
                return "mp4a.40.2";
            case "avc1" or "avc3":
                {
                    var avcC = Child(entry[86..], "avcC");
                    return string.Create(CultureInfo.InvariantCulture, $"{type}.{avcC[1]:x2}{avcC[2]:x2}{avcC[3]:x2}");
                }

            case "hvc1" or "hev1":
                return type + "." + Hevc(Child(entry[86..], "hvcC"));
            case "vp09":
                {
                    var vpcC = Child(entry[86..], "vpcC");
                    var bitDepth = vpcC[6] >> 4;
                    return string.Create(CultureInfo.InvariantCulture, $"vp09.{vpcC[4]:d2}.{vpcC[5]:d2}.{bitDepth:d2}");
                }

            case "av01":
                {
                    var av1C = Child(entry[86..], "av1C");
                    var profile = av1C[1] >> 5;
                    var level = av1C[1] & 0x1f;
                    var tier = (av1C[2] & 0x80) != 0 ? 'H' : 'M';
                    var highBitDepth = (av1C[2] & 0x40) != 0;
                    var twelveBit = (av1C[2] & 0x20) != 0;
                    var depth = highBitDepth ? (twelveBit ? 12 : 10) : 8;
                    return string.Create(CultureInfo.InvariantCulture, $"av01.{profile}.{level:d2}{tier}.{depth:d2}");
                }

            default:
                throw new InvalidDataException($"unsupported sample entry '{type}'");
        }
    }

    private static string Hevc(ReadOnlySpan<byte> hvcC)
    {
        var profileSpace = hvcC[1] >> 6;
        var tier = (hvcC[1] & 0x20) != 0 ? 'H' : 'L';
        var profile = hvcC[1] & 0x1f;
        var compatibility = BinaryPrimitives.ReadUInt32BigEndian(hvcC[2..]);
        uint reversed = 0;
        for (var i = 0; i < 32; i++)
        {
            reversed |= ((compatibility >> i) & 1) << (31 - i);
        }

        var level = hvcC[12];
        var constraints = hvcC.Slice(6, 6);
        var last = constraints.Length - 1;
        while (last >= 0 && constraints[last] == 0)
        {
            last--;
        }

        var text = string.Create(CultureInfo.InvariantCulture, $"{(profileSpace == 0 ? "" : ((char)('A' + profileSpace - 1)).ToString())}{profile}.{reversed:X}.{tier}{level}");
        for (var i = 0; i <= last; i++)
        {
            text += string.Create(CultureInfo.InvariantCulture, $".{constraints[i]:X2}");
        }

        return text;
    }

    /// <summary>The payload of the box reached by following <paramref name="path"/> from the top level.</summary>
    private static ReadOnlySpan<byte> Find(ReadOnlySpan<byte> data, string[] path)
    {
        foreach (var name in path)
        {
            data = Child(data, name);
        }

        return data;
    }

    private static ReadOnlySpan<byte> Child(ReadOnlySpan<byte> data, string name)
    {
        var offset = 0;
        while (offset + 8 <= data.Length)
        {
            long size = BinaryPrimitives.ReadUInt32BigEndian(data[offset..]);
            var header = 8;
            if (size == 1 && offset + 16 <= data.Length)
            {
                size = (long)BinaryPrimitives.ReadUInt64BigEndian(data[(offset + 8)..]);
                header = 16;
            }
            else if (size == 0)
            {
                size = data.Length - offset;
            }

            if (size < header || offset + size > data.Length)
            {
                break;
            }

            if (data.Slice(offset + 4, 4).SequenceEqual(System.Text.Encoding.ASCII.GetBytes(name)))
            {
                return data.Slice(offset + header, (int)size - header);
            }

            offset += (int)size;
        }

        throw new InvalidDataException($"box '{name}' not found in init segment");
    }
}
