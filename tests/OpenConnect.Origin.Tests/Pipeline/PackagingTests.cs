using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Contracts.Content;
using OpenConnect.Contracts.Security;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Pipeline;

/// <summary>Whole pipeline runs read back by ffprobe over HTTP: HLS and DASH over one set of CMAF segments, per codec.</summary>
public sealed class PackagingTests
{
    [Fact]
    public async Task H264Ladder_From360pSource_StopsAt360p_AndHlsAndDashReadBack()
    {
        await using var pipeline = await PipelineHarness.StartAsync(null, "--Origin:Pipeline:SegmentSeconds=2", "--Origin:Pipeline:ChunkSeconds=2");
        var source = await SampleMedia.GetAsync(SampleMedia.Mp4Small);
        var submission = await pipeline.SubmitCopyAsync(source, "Test pattern");
        Assert.True(submission.Accepted, submission.Reason);
        Assert.Equal(1, pipeline.Intake.Backlog + (await pipeline.TitleAsync(submission.TitleId)).GetProperty("state").GetString() switch { "published" => 1, _ => 0 });

        var title = await pipeline.WaitForEndAsync(submission.TitleId, TimeSpan.FromMinutes(2));
        Assert.True(title.GetProperty("state").GetString() == "published", title.ToString());
        Assert.Equal(640, title.GetProperty("source").GetProperty("width").GetInt32());
        Assert.Equal("Test pattern", title.GetProperty("metadata").GetProperty("title").GetString());
        Assert.Equal(["test", "pipeline"], title.GetProperty("metadata").GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal($"/v/{submission.TitleId}/master.m3u8", title.GetProperty("urls").GetProperty("hls").GetString());
        Assert.Equal(0, pipeline.Intake.Backlog);

        await AssertPackagedAsync(pipeline, submission.TitleId, source, [("144p", "h264", 144), ("240p", "h264", 240), ("360p", "h264", 360)]);

        // The signed integrity manifest covers every published object and verifies with the origin's key.
        var manifest = IntegrityManifest.Parse(await pipeline.Client.GetByteArrayAsync(IntegrityManifest.PathFor(submission.TitleId)));
        var key = pipeline.Origin.Services.GetRequiredService<Ed25519SigningKey>();
        Assert.True(manifest.IsSignedBy(new PublicKeyRing([key.PublicKey])));
        var root = pipeline.Published(submission.TitleId);
        var published = Directory.GetFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(f => f != IntegrityManifest.FileName)
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.Equal(published, manifest.Files.Keys.Order(StringComparer.Ordinal).ToList());
        Assert.Contains("poster.jpg", published);
        Assert.Contains("storyboard.vtt", published);
        Assert.Contains("audio/init.mp4", published);
        foreach (var file in published)
        {
            var bytes = await File.ReadAllBytesAsync(Path.Combine(root, file));
            Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), manifest.Files[file].Sha256);
        }
    }

    [Fact]
    public async Task AllCodecs_HevcVp9Av1_AreSegmentedAlike_AndAdvertisedWithBitstreamCodecStrings()
    {
        await using var pipeline = await PipelineHarness.StartAsync(
            null,
            "--Origin:Pipeline:SegmentSeconds=2",
            "--Origin:Pipeline:ChunkSeconds=2",
            "--Origin:Pipeline:Codecs:0=h264",
            "--Origin:Pipeline:Codecs:1=hevc",
            "--Origin:Pipeline:Codecs:2=vp9",
            "--Origin:Pipeline:Codecs:3=av1",
            "--Origin:Pipeline:CodecMinHeights:av1=144",
            "--Origin:Pipeline:Vp9CpuUsed=8",
            "--Origin:Pipeline:SvtAv1Preset=12");
        var source = await PipelineMedia.ClipAsync(256, 144, 4);
        var submission = await pipeline.SubmitCopyAsync(source);
        Assert.True(submission.Accepted, submission.Reason);

        var title = await pipeline.WaitForEndAsync(submission.TitleId, TimeSpan.FromMinutes(3));
        Assert.True(title.GetProperty("state").GetString() == "published", title.ToString());

        await AssertPackagedAsync(pipeline, submission.TitleId, source, [("144p", "h264", 144), ("144p-hevc", "hevc", 144), ("144p-vp9", "vp9", 144), ("144p-av1", "av1", 144)]);
        var master = await pipeline.Client.GetStringAsync($"/v/{submission.TitleId}/master.m3u8");
        Assert.Matches("CODECS=\"avc1\\.64[0-9a-f]{4},mp4a\\.40\\.2\"", master);
        Assert.Matches("CODECS=\"hvc1\\.1\\.6\\.L[0-9]+(\\.[0-9A-F]{2})*,mp4a\\.40\\.2\"", master);
        Assert.Matches("CODECS=\"vp09\\.00\\.[0-9]{2}\\.08,mp4a\\.40\\.2\"", master);
        Assert.Matches("CODECS=\"av01\\.0\\.[0-9]{2}M\\.08,mp4a\\.40\\.2\"", master);
    }

    /// <summary>
    /// The title's playlists and MPD read back through the origin's HTTP endpoint by ffprobe: the
    /// expected video renditions plus AAC audio, durations matching the source, the same frames
    /// and the same keyframe instants (segment boundaries) in every rendition.
    /// </summary>
    internal static async Task AssertPackagedAsync(PipelineHarness pipeline, string titleId, string source, (string Name, string Codec, int Height)[] expected)
    {
        var sourceInfo = await Probe.JsonAsync("-count_packets", "-select_streams", "v:0", "-show_entries", "stream=nb_read_packets:format=duration", source);
        var sourceFrames = int.Parse(sourceInfo.GetProperty("streams")[0].GetProperty("nb_read_packets").GetString()!, CultureInfo.InvariantCulture);
        var sourceDuration = double.Parse(sourceInfo.GetProperty("format").GetProperty("duration").GetString()!, CultureInfo.InvariantCulture);
        var baseUrl = new Uri(pipeline.Origin.BaseAddress, $"/v/{titleId}/");

        var master = await pipeline.Client.GetStringAsync($"/v/{titleId}/master.m3u8");
        Assert.StartsWith("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n", master, StringComparison.Ordinal);
        Assert.Contains("#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\"", master, StringComparison.Ordinal);
        Assert.Equal(expected.Length, master.Split('\n').Count(l => l.StartsWith("#EXT-X-STREAM-INF:", StringComparison.Ordinal) && l.Contains("AVERAGE-BANDWIDTH=", StringComparison.Ordinal) && l.Contains("FRAME-RATE=30.000", StringComparison.Ordinal) && l.Contains("AUDIO=\"aud\"", StringComparison.Ordinal)));

        foreach (var manifest in new[] { "master.m3u8", "manifest.mpd" })
        {
            var read = await Probe.JsonAsync("-show_streams", "-show_format", new Uri(baseUrl, manifest).ToString());
            var streams = read.GetProperty("streams").EnumerateArray().ToList();
            var video = streams.Where(s => s.GetProperty("codec_type").GetString() == "video").Select(s => (Codec: s.GetProperty("codec_name").GetString(), Height: s.GetProperty("height").GetInt32())).Distinct().ToList();
            Assert.Equal(expected.Select(e => (e.Codec, e.Height)).Order(), video.Select(v => (v.Codec!, v.Height)).Order());
            Assert.Contains(streams, s => s.GetProperty("codec_type").GetString() == "audio" && s.GetProperty("codec_name").GetString() == "aac" && s.GetProperty("channels").GetInt32() == 2);
            var duration = double.Parse(read.GetProperty("format").GetProperty("duration").GetString()!, CultureInfo.InvariantCulture);
            Assert.True(Math.Abs(duration - sourceDuration) < 0.35, $"{manifest}: duration {duration} vs source {sourceDuration}");
        }

        List<double>? reference = null;
        int? referenceSegments = null;
        foreach (var (name, codec, height) in expected)
        {
            var playlist = await pipeline.Client.GetStringAsync($"/v/{titleId}/{name}/index.m3u8");
            Assert.Contains("#EXT-X-PLAYLIST-TYPE:VOD", playlist, StringComparison.Ordinal);
            Assert.Contains("#EXT-X-MAP:URI=\"init.mp4\"", playlist, StringComparison.Ordinal);
            Assert.Contains("#EXT-X-TARGETDURATION:2", playlist, StringComparison.Ordinal);
            Assert.EndsWith("#EXT-X-ENDLIST\n", playlist, StringComparison.Ordinal);
            var segments = playlist.Split('\n').Count(l => l.StartsWith("seg-", StringComparison.Ordinal));
            referenceSegments ??= segments;
            Assert.True(referenceSegments == segments, $"{name} has {segments} segments, the first rendition {referenceSegments}");
            Assert.All(Directory.GetFiles(pipeline.Published(titleId, name), "seg-*.m4s"), f => Assert.Contains(Path.GetFileName(f), playlist, StringComparison.Ordinal));

            var url = new Uri(baseUrl, $"{name}/index.m3u8").ToString();
            var stream = (await Probe.JsonAsync("-count_packets", "-select_streams", "v:0", "-show_entries", "stream=codec_name,height,nb_read_packets", url)).GetProperty("streams")[0];
            Assert.Equal(codec, stream.GetProperty("codec_name").GetString());
            Assert.Equal(height, stream.GetProperty("height").GetInt32());
            Assert.Equal(sourceFrames, int.Parse(stream.GetProperty("nb_read_packets").GetString()!, CultureInfo.InvariantCulture));

            // Relative to the first keyframe: H.264/HEVC with B-frames start presenting one reorder delay after VP9/AV1.
            var keyframes = await Probe.KeyframeTimesAsync(url);
            keyframes = keyframes.Select(k => k - keyframes[0]).ToList();
            reference ??= keyframes;
            Assert.True(keyframes.Count == reference.Count && keyframes.Zip(reference).All(p => Math.Abs(p.First - p.Second) < 0.02), $"{name} keyframes [{string.Join(", ", keyframes)}] differ from [{string.Join(", ", reference)}]");
        }

        Assert.Equal(referenceSegments, reference!.Count);
        var mpd = await pipeline.Client.GetStringAsync($"/v/{titleId}/manifest.mpd");
        Assert.Contains("type=\"static\"", mpd, StringComparison.Ordinal);
        Assert.Contains("media=\"audio/seg-$Number%05d$.m4s\"", mpd, StringComparison.Ordinal);
        _ = JsonSerializer.Serialize(mpd);
    }
}
