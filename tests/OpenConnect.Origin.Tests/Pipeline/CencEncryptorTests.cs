using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using OpenConnect.Origin.Pipeline.Cenc;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Pipeline;

/// <summary>
/// The cenc encryptor over CMAF that ffmpeg's HLS muxer wrote (as packaging does): the boxes are
/// parsed back, and ffmpeg decodes the result to the clear frames only with the key.
/// </summary>
public sealed class CencEncryptorTests
{
    private static readonly byte[] KeyId = Convert.FromHexString("0123456789abcdef0123456789abcdef");
    private static readonly byte[] Key = Convert.FromHexString("00112233445566778899aabbccddeeff");

    [Theory]
    [InlineData("v", "encv", "avc1")]
    [InlineData("a", "enca", "mp4a")]
    public async Task ProtectedRendition_HasSinfTencPsshAndPerFragmentSencSaizSaio(string stream, string entryType, string originalFormat)
    {
        using var directory = new TempDirectory("openconnect-cenc");
        var (init, segments) = await ClearCmafAsync(directory, stream);
        var widevine = Pssh.Box(new Guid("edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"), [KeyId], [1, 2, 3]);
        var common = Pssh.Box(Pssh.CommonSystemId, [KeyId], []);
        var (protectedInit, track) = CencEncryptor.ProtectInit(init, KeyId, [common, widevine]);
        Assert.Equal(stream == "v", track.IsVideo);

        var moov = Mp4Box.ParseAll(protectedInit).Single(b => b.Type == "moov");
        var entry = moov.Find("stsd")!.Children!.Single();
        Assert.Equal(entryType, entry.Type);
        var sinf = entry.Child("sinf")!;
        Assert.Equal(originalFormat, Encoding.ASCII.GetString(sinf.Child("frma")!.Payload));
        var schm = sinf.Child("schm")!.Payload;
        Assert.Equal("cenc", Encoding.ASCII.GetString(schm, 4, 4));
        Assert.Equal(0x00010000u, BinaryPrimitives.ReadUInt32BigEndian(schm.AsSpan(8)));
        var tenc = sinf.Child("schi")!.Child("tenc")!.Payload;
        Assert.Equal(1, tenc[6]); // default_isProtected
        Assert.Equal(CencEncryptor.IvSize, tenc[7]);
        Assert.Equal(KeyId, tenc[8..24]);
        var pssh = moov.Children!.Where(c => c.Type == "pssh").Select(c => Pssh.Parse(c.Payload)).ToList();
        Assert.Equal([Pssh.CommonSystemId, new Guid("edef8ba9-79d6-4ace-a3c8-27dcd51d21ed")], pssh.Select(p => p.SystemId));
        Assert.All(pssh, p => Assert.Equal(KeyId, Assert.Single(p.KeyIds)));
        Assert.Equal(1, pssh[0].Version);
        Assert.Empty(pssh[0].Data);
        Assert.Equal([1, 2, 3], pssh[1].Data);

        foreach (var clear in segments)
        {
            var encrypted = CencEncryptor.ProtectSegment(clear, track, Key);
            var boxes = Mp4Box.ParseAll(encrypted);
            var moofs = boxes.Select((b, i) => (Box: b, Index: i)).Where(x => x.Box.Type == "moof").ToList();
            Assert.NotEmpty(moofs);
            long moofStart = 0;
            foreach (var box in boxes)
            {
                if (box.Type == "moof")
                {
                    break;
                }

                moofStart += box.Size;
            }

            foreach (var (moof, index) in moofs)
            {
                var traf = moof.Child("traf")!;
                var trun = traf.Child("trun")!.Payload;
                var sampleCount = BinaryPrimitives.ReadUInt32BigEndian(trun.AsSpan(4));
                var senc = traf.Child("senc")!.Payload;
                var saiz = traf.Child("saiz")!.Payload;
                var saio = traf.Child("saio")!.Payload;
                Assert.Equal(sampleCount, BinaryPrimitives.ReadUInt32BigEndian(senc.AsSpan(4)));
                Assert.Equal(track.IsVideo ? 2u : 0u, BinaryPrimitives.ReadUInt32BigEndian(senc) & 0xFFFFFF);
                Assert.Equal(sampleCount, BinaryPrimitives.ReadUInt32BigEndian(saiz.AsSpan(5)));
                Assert.Equal(1u, BinaryPrimitives.ReadUInt32BigEndian(saio.AsSpan(4)));

                // saio points (from the moof's first byte) at senc's first IV; saiz sizes add up to senc's entries.
                var written = Mp4Box.Serialize([moof]);
                var offset = (int)BinaryPrimitives.ReadUInt32BigEndian(saio.AsSpan(8));
                Assert.Equal(senc.AsSpan(8, CencEncryptor.IvSize).ToArray(), written.AsSpan(offset, CencEncryptor.IvSize).ToArray());
                var sizes = saiz[4] != 0 ? Enumerable.Repeat((int)saiz[4], (int)sampleCount) : saiz.Skip(9).Select(b => (int)b);
                Assert.Equal(senc.Length - 8, sizes.Sum());

                // trun's data offset lands on the mdat's payload.
                var dataOffset = BinaryPrimitives.ReadInt32BigEndian(trun.AsSpan(8));
                Assert.Equal("mdat", boxes[index + 1].Type);
                Assert.Equal(moof.Size + 8, dataOffset);
            }
        }
    }

    [Theory]
    [InlineData("v")]
    [InlineData("a")]
    public async Task ProtectedSegments_DecodeToTheClearFramesOnlyWithTheKey(string stream)
    {
        using var directory = new TempDirectory("openconnect-cenc");
        var (init, segments) = await ClearCmafAsync(directory, stream);
        var (protectedInit, track) = CencEncryptor.ProtectInit(init, KeyId, [Pssh.Box(Pssh.CommonSystemId, [KeyId], [])]);

        // Segment by segment, as a player appends them (ffmpeg 5.1's demuxer misplaces the
        // encryption info of a file with several fragments, so each is decoded after the init alone).
        for (var i = 0; i < segments.Count; i++)
        {
            var clearFile = directory.Combine($"clear-{i}.mp4");
            var encryptedFile = directory.Combine($"encrypted-{i}.mp4");
            await File.WriteAllBytesAsync(clearFile, [.. init, .. segments[i]]);
            await File.WriteAllBytesAsync(encryptedFile, [.. protectedInit, .. CencEncryptor.ProtectSegment(segments[i], track, Key)]);

            var clear = await FrameHashesAsync(clearFile, null);
            Assert.True(clear.ExitCode == 0 && clear.StandardError.Length == 0, clear.StandardError);
            Assert.NotEmpty(Hashes(clear.StandardOutput));
            var withKey = await FrameHashesAsync(encryptedFile, Convert.ToHexStringLower(Key));
            Assert.True(withKey.ExitCode == 0 && withKey.StandardError.Length == 0, withKey.StandardError);
            Assert.Equal(Hashes(clear.StandardOutput), Hashes(withKey.StandardOutput));

            foreach (var key in new string?[] { null, "ffeeddccbbaa99887766554433221100" })
            {
                var wrong = await FrameHashesAsync(encryptedFile, key);
                Assert.True(wrong.ExitCode != 0 || wrong.StandardError.Length > 0, $"segment {i} decoded without errors with key {key ?? "(none)"}");
                Assert.NotEqual(Hashes(clear.StandardOutput), Hashes(wrong.StandardOutput));
            }
        }
    }

    [Fact]
    public void Subsamples_KeepLengthAndNalHeaderAndNonSlicesClear_AndProtectWholeBlocksOfSlices()
    {
        // SPS (type 7, 10 bytes), IDR slice (type 5, 100 bytes), SEI (type 6, 5 bytes), non-IDR slice (type 1, 40 bytes).
        var sample = Nal(0x67, 10).Concat(Nal(0x65, 100)).Concat(Nal(0x06, 5)).Concat(Nal(0x41, 40)).ToArray();
        var ranges = CencEncryptor.Subsamples(sample, 4);
        // SPS clear (14) + IDR prefix/header (4 + 1 + 99 % 16 = 8); 96 protected; SEI (9) + slice prefix (4 + 1 + 39 % 16 = 12); 32 protected.
        Assert.Equal([(14 + 8, 96), (9 + 12, 32)], ranges);
        Assert.Equal(sample.Length, ranges.Sum(r => r.Clear + r.Protected));
    }

    [Fact]
    public void Subsamples_RejectANalLengthPastTheSample()
    {
        var sample = Nal(0x65, 50)[..30];
        Assert.Throws<InvalidDataException>(() => CencEncryptor.Subsamples(sample, 4));
    }

    [Fact]
    public void EncryptRanges_IsAesCtrRunningAcrossRanges()
    {
        using var aes = Aes.Create();
        aes.Key = Key;
        var iv = Convert.FromHexString("0102030405060708");
        var data = RandomNumberGenerator.GetBytes(80);
        var sample = data.ToArray();
        CencEncryptor.EncryptRanges(aes, iv, sample, [(5, 20), (10, 45)]);

        // Reference: the 65 protected bytes in one piece under a plain CTR key stream.
        var joined = data[5..25].Concat(data[35..80]).ToArray();
        var counters = new byte[80];
        for (var b = 0; b < 5; b++)
        {
            iv.CopyTo(counters, b * 16);
            BinaryPrimitives.WriteUInt64BigEndian(counters.AsSpan((b * 16) + 8), (ulong)b);
        }

        var stream = aes.EncryptEcb(counters, PaddingMode.None);
        var expected = joined.Select((x, i) => (byte)(x ^ stream[i])).ToArray();
        Assert.Equal(data[..5], sample[..5]);
        Assert.Equal(data[25..35], sample[25..35]);
        Assert.Equal(expected, sample[5..25].Concat(sample[35..80]).ToArray());
    }

    [Fact]
    public async Task ProtectInit_RefusesCodecsOtherThanH264AndAac()
    {
        using var directory = new TempDirectory("openconnect-cenc");
        var source = directory.Combine("hevc.mp4");
        var made = await ExternalProcess.RunAsync("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=5", "-c:v", "libx265", "-x265-params", "keyint=25:min-keyint=25:log-level=error", "-tag:v", "hvc1", source], TimeSpan.FromMinutes(1));
        Assert.True(made.ExitCode == 0, made.StandardError);
        var (init, _) = await ClearCmafAsync(directory, "v", source);
        var error = Assert.Throws<InvalidDataException>(() => CencEncryptor.ProtectInit(init, KeyId, []));
        Assert.Contains("only H.264", error.Message);
    }

    private static byte[] Nal(byte header, int size)
    {
        var nal = new byte[4 + size];
        BinaryPrimitives.WriteUInt32BigEndian(nal, (uint)size);
        nal[4] = header;
        RandomNumberGenerator.Fill(nal.AsSpan(5));
        return nal;
    }

    private static IEnumerable<string> Hashes(string framemd5) =>
        framemd5.Split('\n').Where(l => l.Length > 0 && l[0] != '#').Select(l => l.Split(',').Last().Trim());

    private static Task<ExternalProcess.Result> FrameHashesAsync(string file, string? key) =>
        ExternalProcess.RunAsync("ffmpeg", [.. key is null ? [] : new[] { "-decryption_key", key }, "-v", "error", "-i", file, "-f", "framemd5", "-"], TimeSpan.FromMinutes(1));

    /// <summary>One stream of a 6 s H.264 + AAC clip cut into 2 s CMAF segments the way packaging does.</summary>
    private static async Task<(byte[] Init, List<byte[]> Segments)> ClearCmafAsync(TempDirectory directory, string stream, string? source = null)
    {
        source ??= await PipelineMedia.ClipAsync(320, 180, 6);
        var output = directory.Combine($"cmaf-{stream}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(output);
        var result = await ExternalProcess.RunAsync(
            "ffmpeg",
            ["-v", "error", "-i", source, "-map", $"0:{stream}:0", "-c", "copy", "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4",
             "-hls_fmp4_init_filename", "init.mp4", "-start_number", "1", "-hls_segment_filename", Path.Combine(output, "seg-%05d.m4s"), Path.Combine(output, "index.m3u8")],
            TimeSpan.FromMinutes(1));
        Assert.True(result.ExitCode == 0, result.StandardError);
        var segments = Directory.GetFiles(output, "seg-*.m4s").Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToList();
        Assert.True(segments.Count >= 2, $"expected several segments, got {segments.Count}");
        return (await File.ReadAllBytesAsync(Path.Combine(output, "init.mp4")), segments);
    }
}
