using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace OpenConnect.Origin.Pipeline.Cenc;

/// <summary>What segment encryption needs to know about the one track of an init segment.</summary>
/// <param name="TrackId">The track's id (<c>trex</c>).</param>
/// <param name="IsVideo">H.264 (subsample encryption per NAL unit) rather than AAC (whole samples).</param>
/// <param name="NalLengthSize">Bytes of each NAL unit's length prefix (<c>avcC</c>); 0 for audio.</param>
/// <param name="DefaultSampleSize">The <c>trex</c> default sample size, used when a fragment names none.</param>
public sealed record CencTrack(uint TrackId, bool IsVideo, int NalLengthSize, uint DefaultSampleSize);

/// <summary>
/// Common Encryption, scheme <c>cenc</c> (AES-128 CTR, ISO/IEC 23001-7), applied to the clear
/// CMAF that ffmpeg's HLS muxer writes: the init segment's sample entry becomes <c>encv</c>/<c>enca</c>
/// with <c>sinf</c> (<c>frma</c>, <c>schm</c>, <c>schi</c>/<c>tenc</c>) and the moov gets the
/// <c>pssh</c> boxes; each fragment's samples are encrypted in place and its <c>traf</c> gets
/// <c>senc</c>, <c>saiz</c> and <c>saio</c> (ffmpeg 5.1's mov muxer writes the sample auxiliary
/// information only into the <c>moov</c>, where players do not read it for fragments).
/// H.264 is encrypted per NAL unit: the length prefix and NAL header stay clear, and of a slice
/// the whole 16-byte blocks after them are encrypted; parameter sets and SEI stay clear.
/// Each sample gets a random 8-byte IV (the counter fills the low 8 bytes of the block).
/// </summary>
public static class CencEncryptor
{
    public const int IvSize = 8;

    // Slices shorter than this carry too little to encrypt a whole block after the header.
    private const int MinProtectedNal = 17;

    /// <summary>
    /// The protected init segment: <paramref name="init"/> with its single track's sample entry
    /// turned into an encrypted one carrying <paramref name="keyId"/>, and <paramref name="psshBoxes"/>
    /// appended to the moov.
    /// </summary>
    public static (byte[] Init, CencTrack Track) ProtectInit(ReadOnlySpan<byte> init, byte[] keyId, IReadOnlyList<byte[]> psshBoxes)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(keyId.Length, 16, nameof(keyId));
        var boxes = Mp4Box.ParseAll(init);
        var moov = boxes.FirstOrDefault(b => b.Type == "moov") ?? throw new InvalidDataException("the init segment has no moov");
        var traks = moov.Children!.Where(c => c.Type == "trak").ToList();
        if (traks.Count != 1)
        {
            throw new InvalidDataException($"the init segment has {traks.Count} tracks; a CMAF rendition has one");
        }

        var stsd = traks[0].Find("stsd") ?? throw new InvalidDataException("the track has no stsd");
        if (stsd.Children!.Count != 1)
        {
            throw new InvalidDataException($"the track has {stsd.Children.Count} sample entries; one is supported");
        }

        var entry = stsd.Children[0];
        var original = entry.Type;
        var isVideo = original switch
        {
            "avc1" or "avc3" => true,
            "mp4a" => false,
            _ => throw new InvalidDataException($"sample entry '{original}' cannot be protected: only H.264 (avc1/avc3) and AAC (mp4a) are"),
        };
        var nalLengthSize = 0;
        if (isVideo)
        {
            var avcC = entry.Child("avcC") ?? throw new InvalidDataException("the H.264 sample entry has no avcC");
            if (avcC.Payload.Length < 5)
            {
                throw new InvalidDataException("avcC is too short");
            }

            nalLengthSize = (avcC.Payload[4] & 0x3) + 1;
        }

        entry.Type = isVideo ? "encv" : "enca";
        var tenc = new byte[20];
        tenc[2] = 1; // default_isProtected
        tenc[3] = IvSize; // default_Per_Sample_IV_Size
        keyId.CopyTo(tenc, 4);
        var schm = new byte[8];
        Encoding.ASCII.GetBytes("cenc", schm);
        BinaryPrimitives.WriteUInt32BigEndian(schm.AsSpan(4), 0x00010000);
        entry.Children!.Add(new Mp4Box("sinf", [], [
            new Mp4Box("frma", Encoding.ASCII.GetBytes(original)),
            new Mp4Box("schm", Mp4Box.FullBoxPayload(0, 0, schm)),
            new Mp4Box("schi", [], [new Mp4Box("tenc", Mp4Box.FullBoxPayload(0, 0, tenc))]),
        ]));

        moov.Children!.RemoveAll(c => c.Type == "pssh");
        foreach (var pssh in psshBoxes)
        {
            moov.Children.AddRange(Mp4Box.ParseAll(pssh));
        }

        var trex = moov.Find("trex") ?? throw new InvalidDataException("the init segment has no trex (not fragmented)");
        if (trex.Payload.Length < 24)
        {
            throw new InvalidDataException("trex is too short");
        }

        var track = new CencTrack(
            BinaryPrimitives.ReadUInt32BigEndian(trex.Payload.AsSpan(4)),
            isVideo,
            nalLengthSize,
            BinaryPrimitives.ReadUInt32BigEndian(trex.Payload.AsSpan(16)));
        return (Mp4Box.Serialize(boxes), track);
    }

    /// <summary>
    /// Encrypts every sample of a media segment (one or more moof+mdat) with <paramref name="key"/>
    /// and adds the sample auxiliary information; trun data offsets and sidx sizes follow the
    /// grown moofs.
    /// </summary>
    public static byte[] ProtectSegment(ReadOnlySpan<byte> segment, CencTrack track, byte[] key)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(key.Length, 16, nameof(key));
        var layout = TopLevelLayout(segment);
        var boxes = Mp4Box.ParseAll(segment);
        using var aes = Aes.Create();
        aes.Key = key;
        var fragments = new List<(Mp4Box Moof, Mp4Box Mdat)>();
        for (var i = 0; i < boxes.Count; i++)
        {
            if (boxes[i].Type != "moof")
            {
                continue;
            }

            if (i + 1 >= boxes.Count || boxes[i + 1].Type != "mdat")
            {
                throw new InvalidDataException("a moof is not followed by its mdat");
            }

            ProtectFragment(boxes[i], layout[i].Start, boxes[i + 1], layout[i + 1].Start + layout[i + 1].Header, track, aes);
            fragments.Add((boxes[i], boxes[i + 1]));
        }

        if (fragments.Count == 0)
        {
            throw new InvalidDataException("the segment has no movie fragment");
        }

        FixSidx(boxes, fragments);
        return Mp4Box.Serialize(boxes);
    }

    private static void ProtectFragment(Mp4Box moof, long moofStart, Mp4Box mdat, long mdatDataStart, CencTrack track, Aes aes)
    {
        var trafs = moof.Children!.Where(c => c.Type == "traf").ToList();
        if (trafs.Count != 1)
        {
            throw new InvalidDataException($"a moof has {trafs.Count} track fragments; a CMAF fragment has one");
        }

        var traf = trafs[0];
        if (traf.Children!.Any(c => c.Type is "senc" or "saiz" or "saio"))
        {
            throw new InvalidDataException("the fragment is already encrypted");
        }

        var tfhd = traf.Child("tfhd") ?? throw new InvalidDataException("traf has no tfhd");
        var tfhdFlags = BinaryPrimitives.ReadUInt32BigEndian(tfhd.Payload) & 0xFFFFFF;
        if ((tfhdFlags & 0x1) != 0)
        {
            throw new InvalidDataException("tfhd carries an explicit base data offset; only moof-relative offsets are supported");
        }

        if (BinaryPrimitives.ReadUInt32BigEndian(tfhd.Payload.AsSpan(4)) != track.TrackId)
        {
            throw new InvalidDataException("the fragment is of another track than the init segment");
        }

        var defaultSize = track.DefaultSampleSize;
        if ((tfhdFlags & 0x10) != 0)
        {
            var at = 8 + ((tfhdFlags & 0x2) != 0 ? 4 : 0) + ((tfhdFlags & 0x8) != 0 ? 4 : 0);
            defaultSize = BinaryPrimitives.ReadUInt32BigEndian(tfhd.Payload.AsSpan(at));
        }

        // Every sample's place in the mdat payload, in trun order.
        var truns = traf.Children!.Where(c => c.Type == "trun").ToList();
        var samples = new List<(int Offset, int Size)>();
        foreach (var trun in truns)
        {
            var p = trun.Payload;
            var flags = BinaryPrimitives.ReadUInt32BigEndian(p) & 0xFFFFFF;
            if ((flags & 0x1) == 0)
            {
                throw new InvalidDataException("trun has no data offset");
            }

            var count = BinaryPrimitives.ReadUInt32BigEndian(p.AsSpan(4));
            var dataOffset = BinaryPrimitives.ReadInt32BigEndian(p.AsSpan(8));
            var at = 12 + ((flags & 0x4) != 0 ? 4 : 0);
            var position = moofStart + dataOffset - mdatDataStart;
            for (var i = 0; i < count; i++)
            {
                if ((flags & 0x100) != 0)
                {
                    at += 4;
                }

                var size = defaultSize;
                if ((flags & 0x200) != 0)
                {
                    size = BinaryPrimitives.ReadUInt32BigEndian(p.AsSpan(at));
                    at += 4;
                }

                at += ((flags & 0x400) != 0 ? 4 : 0) + ((flags & 0x800) != 0 ? 4 : 0);
                if (position < 0 || position + size > mdat.Payload.Length)
                {
                    throw new InvalidDataException("a sample lies outside its mdat");
                }

                samples.Add(((int)position, (int)size));
                position += size;
            }
        }

        // Encrypt in place and gather each sample's auxiliary information (IV + subsamples).
        var info = new List<byte[]>(samples.Count);
        foreach (var (offset, size) in samples)
        {
            var sample = mdat.Payload.AsSpan(offset, size);
            var iv = new byte[IvSize];
            RandomNumberGenerator.Fill(iv);
            if (track.IsVideo)
            {
                var subsamples = Subsamples(sample, track.NalLengthSize);
                EncryptRanges(aes, iv, sample, subsamples);
                var entry = new byte[IvSize + 2 + (6 * subsamples.Count)];
                iv.CopyTo(entry, 0);
                BinaryPrimitives.WriteUInt16BigEndian(entry.AsSpan(IvSize), (ushort)subsamples.Count);
                for (var i = 0; i < subsamples.Count; i++)
                {
                    BinaryPrimitives.WriteUInt16BigEndian(entry.AsSpan(IvSize + 2 + (6 * i)), (ushort)subsamples[i].Clear);
                    BinaryPrimitives.WriteUInt32BigEndian(entry.AsSpan(IvSize + 4 + (6 * i)), (uint)subsamples[i].Protected);
                }

                info.Add(entry);
            }
            else
            {
                EncryptRanges(aes, iv, sample, [(0, size)]);
                info.Add(iv);
            }
        }

        // senc (sample_count + entries), saiz (sizes), saio (one offset to senc's entries).
        var sencBody = new byte[4 + info.Sum(e => e.Length)];
        BinaryPrimitives.WriteUInt32BigEndian(sencBody, (uint)info.Count);
        var write = 4;
        foreach (var entry in info)
        {
            entry.CopyTo(sencBody, write);
            write += entry.Length;
        }

        var senc = new Mp4Box("senc", Mp4Box.FullBoxPayload(0, track.IsVideo ? 0x2u : 0u, sencBody));
        var uniform = info.All(e => e.Length == info[0].Length);
        var saizBody = new byte[5 + (uniform ? 0 : info.Count)];
        saizBody[0] = uniform ? (byte)info[0].Length : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(saizBody.AsSpan(1), (uint)info.Count);
        for (var i = 0; !uniform && i < info.Count; i++)
        {
            saizBody[5 + i] = info[i].Length <= byte.MaxValue
                ? (byte)info[i].Length
                : throw new InvalidDataException("a sample has too many subsamples for saiz");
        }

        var saiz = new Mp4Box("saiz", Mp4Box.FullBoxPayload(0, 0, saizBody));
        var saio = new Mp4Box("saio", Mp4Box.FullBoxPayload(0, 0, new byte[8]));
        traf.Children!.AddRange([saiz, saio, senc]);

        // senc's entries, counted from the start of the moof (the base of a default-base-is-moof traf).
        long sencEntries = 8;
        foreach (var child in moof.Children!)
        {
            if (child == traf)
            {
                break;
            }

            sencEntries += child.Size;
        }

        sencEntries += 8;
        foreach (var child in traf.Children!)
        {
            if (child == senc)
            {
                break;
            }

            sencEntries += child.Size;
        }

        sencEntries += 8 + 4 + 4;
        BinaryPrimitives.WriteUInt32BigEndian(saio.Payload.AsSpan(4), 1);
        BinaryPrimitives.WriteUInt32BigEndian(saio.Payload.AsSpan(8), (uint)sencEntries);

        // The mdat (written with an 8-byte header right after the moof) moved by what the moof grew.
        var shift = moof.Size + 8 - (mdatDataStart - moofStart);
        foreach (var trun in truns)
        {
            var dataOffset = BinaryPrimitives.ReadInt32BigEndian(trun.Payload.AsSpan(8));
            BinaryPrimitives.WriteInt32BigEndian(trun.Payload.AsSpan(8), checked((int)(dataOffset + shift)));
        }
    }

    /// <summary>
    /// (clear, protected) byte counts covering an H.264 sample: per NAL unit, the length prefix and
    /// NAL header stay clear, a slice (types 1–5) has its whole 16-byte blocks after that protected,
    /// other NAL units stay clear. Clear runs longer than 65535 bytes are split (the field is 16 bits).
    /// </summary>
    public static List<(int Clear, int Protected)> Subsamples(ReadOnlySpan<byte> sample, int nalLengthSize)
    {
        var ranges = new List<(int, int)>();
        var pendingClear = 0;
        var position = 0;
        while (position < sample.Length)
        {
            if (sample.Length - position < nalLengthSize + 1)
            {
                throw new InvalidDataException("an H.264 sample ends inside a NAL unit length");
            }

            long nalSize = 0;
            for (var i = 0; i < nalLengthSize; i++)
            {
                nalSize = (nalSize << 8) | sample[position + i];
            }

            if (nalSize == 0 || nalSize > sample.Length - position - nalLengthSize)
            {
                throw new InvalidDataException("an H.264 NAL unit length runs past its sample");
            }

            var type = sample[position + nalLengthSize] & 0x1F;
            var encrypted = type is >= 1 and <= 5 && nalSize >= MinProtectedNal ? (int)((nalSize - 1) / 16 * 16) : 0;
            pendingClear += nalLengthSize + (int)nalSize - encrypted;
            if (encrypted > 0)
            {
                while (pendingClear > ushort.MaxValue)
                {
                    ranges.Add((ushort.MaxValue, 0));
                    pendingClear -= ushort.MaxValue;
                }

                ranges.Add((pendingClear, encrypted));
                pendingClear = 0;
            }

            position += nalLengthSize + (int)nalSize;
        }

        while (pendingClear > 0)
        {
            var clear = Math.Min(pendingClear, ushort.MaxValue);
            ranges.Add((clear, 0));
            pendingClear -= clear;
        }

        return ranges;
    }

    /// <summary>
    /// AES-CTR over the protected ranges of one sample, the key stream running on across ranges
    /// (the cenc scheme): counter block = IV (8 bytes) ‖ block number (8 bytes, big-endian).
    /// Encryption and decryption are the same operation.
    /// </summary>
    public static void EncryptRanges(Aes aes, ReadOnlySpan<byte> iv, Span<byte> sample, IReadOnlyList<(int Clear, int Protected)> ranges)
    {
        var total = 0;
        foreach (var (_, p) in ranges)
        {
            total += p;
        }

        if (total == 0)
        {
            return;
        }

        var blocks = (total + 15) / 16;
        var counters = new byte[blocks * 16];
        for (var b = 0; b < blocks; b++)
        {
            iv.CopyTo(counters.AsSpan(b * 16));
            BinaryPrimitives.WriteUInt64BigEndian(counters.AsSpan((b * 16) + 8), (ulong)b);
        }

        var stream = aes.EncryptEcb(counters, PaddingMode.None);
        var position = 0;
        var k = 0;
        foreach (var (clear, protectedBytes) in ranges)
        {
            position += clear;
            var span = sample.Slice(position, protectedBytes);
            for (var i = 0; i < span.Length; i++)
            {
                span[i] ^= stream[k++];
            }

            position += protectedBytes;
        }
    }

    private static void FixSidx(List<Mp4Box> boxes, List<(Mp4Box Moof, Mp4Box Mdat)> fragments)
    {
        var sidx = boxes.FirstOrDefault(b => b.Type == "sidx");
        if (sidx is null)
        {
            return;
        }

        var p = sidx.Payload;
        var at = 4 + 8 + (p[0] == 0 ? 8 : 16) + 2;
        var count = BinaryPrimitives.ReadUInt16BigEndian(p.AsSpan(at));
        if (count != fragments.Count)
        {
            throw new InvalidDataException($"sidx has {count} references for {fragments.Count} fragments");
        }

        at += 2;
        for (var i = 0; i < count; i++, at += 12)
        {
            var word = BinaryPrimitives.ReadUInt32BigEndian(p.AsSpan(at));
            var size = fragments[i].Moof.Size + fragments[i].Mdat.Size;
            BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(at), (word & 0x80000000) | (uint)size);
        }
    }

    private static List<(long Start, int Header)> TopLevelLayout(ReadOnlySpan<byte> data)
    {
        var layout = new List<(long, int)>();
        long offset = 0;
        while (offset < data.Length)
        {
            long size = BinaryPrimitives.ReadUInt32BigEndian(data[(int)offset..]);
            var header = 8;
            if (size == 1)
            {
                size = (long)BinaryPrimitives.ReadUInt64BigEndian(data[((int)offset + 8)..]);
                header = 16;
            }
            else if (size == 0)
            {
                size = data.Length - offset;
            }

            layout.Add((offset, header));
            offset += size;
        }

        return layout;
    }
}
