using System.Buffers.Binary;
using System.Text;

namespace OpenConnect.Origin.Pipeline.Cenc;

/// <summary>
/// One ISO BMFF box as a small tree: a container keeps the bytes before its children
/// (<see cref="Payload"/> of a container: the full-box header of <c>stsd</c>, the fixed fields of a sample entry)
/// and its children; a leaf keeps its payload. Sizes are computed when written, so boxes can be
/// added, renamed and grown without patching the sizes of their parents by hand.
/// </summary>
public sealed class Mp4Box
{
    // Boxes whose payload is (after a fixed prefix) a list of boxes, with that prefix's length.
    private static readonly Dictionary<string, int> Containers = new(StringComparer.Ordinal)
    {
        ["moov"] = 0,
        ["trak"] = 0,
        ["mdia"] = 0,
        ["minf"] = 0,
        ["stbl"] = 0,
        ["mvex"] = 0,
        ["moof"] = 0,
        ["traf"] = 0,
        ["sinf"] = 0,
        ["schi"] = 0,
        ["edts"] = 0,
        ["dinf"] = 0,
        ["stsd"] = 8,
        ["avc1"] = 78,
        ["avc3"] = 78,
        ["encv"] = 78,
        ["mp4a"] = 28,
        ["enca"] = 28,
    };

    public Mp4Box(string type, byte[] payload)
    {
        Type = type;
        Payload = payload;
    }

    public Mp4Box(string type, byte[] prefix, List<Mp4Box> children)
    {
        Type = type;
        Payload = prefix;
        Children = children;
    }

    /// <summary>The four-character type.</summary>
    public string Type { get; set; }

    /// <summary>A leaf's payload, or a container's fixed prefix before its children.</summary>
    public byte[] Payload { get; set; }

    /// <summary>The children of a container; null for a leaf.</summary>
    public List<Mp4Box>? Children { get; }

    /// <summary>The size this box takes when written.</summary>
    public long Size => 8 + Payload.Length + (Children?.Sum(c => c.Size) ?? 0);

    /// <summary>The first child of that type, or null.</summary>
    public Mp4Box? Child(string type) => Children?.FirstOrDefault(c => c.Type == type);

    /// <summary>The first box of that type at any depth below this one (depth first), or null.</summary>
    public Mp4Box? Find(string type)
    {
        foreach (var child in Children ?? [])
        {
            if (child.Type == type)
            {
                return child;
            }

            if (child.Find(type) is { } found)
            {
                return found;
            }
        }

        return null;
    }

    /// <summary>Every box of that type below this one, depth first.</summary>
    public IEnumerable<Mp4Box> FindAll(string type)
    {
        foreach (var child in Children ?? [])
        {
            if (child.Type == type)
            {
                yield return child;
            }

            foreach (var below in child.FindAll(type))
            {
                yield return below;
            }
        }
    }

    /// <summary>Parses a sequence of top-level boxes (a whole file or segment).</summary>
    public static List<Mp4Box> ParseAll(ReadOnlySpan<byte> data)
    {
        var boxes = new List<Mp4Box>();
        var offset = 0;
        while (offset < data.Length)
        {
            boxes.Add(Parse(data, ref offset));
        }

        return boxes;
    }

    private static Mp4Box Parse(ReadOnlySpan<byte> data, ref int offset)
    {
        if (data.Length - offset < 8)
        {
            throw new InvalidDataException($"truncated box header at byte {offset}");
        }

        long size = BinaryPrimitives.ReadUInt32BigEndian(data[offset..]);
        var type = Encoding.Latin1.GetString(data.Slice(offset + 4, 4));
        var header = 8;
        if (size == 1)
        {
            if (data.Length - offset < 16)
            {
                throw new InvalidDataException($"truncated large box header of '{type}' at byte {offset}");
            }

            size = (long)BinaryPrimitives.ReadUInt64BigEndian(data[(offset + 8)..]);
            header = 16;
        }
        else if (size == 0)
        {
            size = data.Length - offset;
        }

        if (size < header || size > data.Length - offset)
        {
            throw new InvalidDataException($"box '{type}' at byte {offset} has size {size}, outside the {data.Length - offset} bytes left");
        }

        var body = data.Slice(offset + header, (int)size - header);
        offset += (int)size;
        if (Containers.TryGetValue(type, out var prefixLength) && body.Length >= prefixLength)
        {
            var children = new List<Mp4Box>();
            var inner = prefixLength;
            while (inner < body.Length)
            {
                children.Add(Parse(body, ref inner));
            }

            return new Mp4Box(type, body[..prefixLength].ToArray(), children);
        }

        return new Mp4Box(type, body.ToArray());
    }

    /// <summary>Writes boxes one after another.</summary>
    public static byte[] Serialize(IEnumerable<Mp4Box> boxes)
    {
        using var stream = new MemoryStream();
        foreach (var box in boxes)
        {
            box.WriteTo(stream);
        }

        return stream.ToArray();
    }

    public void WriteTo(Stream stream)
    {
        var size = Size;
        if (size > uint.MaxValue)
        {
            throw new InvalidDataException($"box '{Type}' is larger than 4 GiB");
        }

        Span<byte> header = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)size);
        Encoding.Latin1.GetBytes(Type, header[4..]);
        stream.Write(header);
        stream.Write(Payload);
        foreach (var child in Children ?? [])
        {
            child.WriteTo(stream);
        }
    }

    /// <summary>A full box's payload: version, 24-bit flags, then the body.</summary>
    public static byte[] FullBoxPayload(byte version, uint flags, ReadOnlySpan<byte> body)
    {
        var payload = new byte[4 + body.Length];
        BinaryPrimitives.WriteUInt32BigEndian(payload, ((uint)version << 24) | (flags & 0xFFFFFF));
        body.CopyTo(payload.AsSpan(4));
        return payload;
    }
}
