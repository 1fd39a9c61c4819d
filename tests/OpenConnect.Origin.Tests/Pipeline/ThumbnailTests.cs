using System.Globalization;
using System.Text.RegularExpressions;
using OpenConnect.Origin.Pipeline;

namespace OpenConnect.Origin.Tests.Pipeline;

public sealed partial class ThumbnailTests
{
    [Fact]
    public async Task Poster_SkipsTheBlackOpening_AndStoryboardCuesPointAtRealTiles()
    {
        await using var pipeline = await PipelineHarness.StartAsync(null, "--Origin:Pipeline:SegmentSeconds=2", "--Origin:Pipeline:ChunkSeconds=4", "--Origin:Pipeline:MaxHeight=144");
        var source = await PipelineMedia.BlackLeadAsync(3, 6);
        Assert.True(await LumaAsync(source) < 20, "the source should open on black");

        var submission = await pipeline.SubmitCopyAsync(source);
        var title = await pipeline.WaitForEndAsync(submission.TitleId, TimeSpan.FromMinutes(2));
        Assert.True(title.GetProperty("state").GetString() == "published", title.ToString());
        Assert.Equal($"/posters/{submission.TitleId}.jpg", title.GetProperty("poster").GetString());
        Assert.Equal(await File.ReadAllBytesAsync(pipeline.Published(submission.TitleId, "poster.jpg")), await pipeline.Client.GetByteArrayAsync(title.GetProperty("poster").GetString()));

        var poster = pipeline.Published(submission.TitleId, "poster.jpg");
        Assert.True(await LumaAsync(poster) > Thumbnails.MinLuma, "the poster is black");

        var vtt = await pipeline.Client.GetStringAsync($"/v/{submission.TitleId}/storyboard.vtt");
        Assert.StartsWith("WEBVTT\n", vtt, StringComparison.Ordinal);
        var cues = Cue().Matches(vtt);
        Assert.Equal(6, cues.Count);
        var previousEnd = 0.0;
        foreach (Match cue in cues)
        {
            var start = TimeSpan.Parse(cue.Groups["start"].Value, CultureInfo.InvariantCulture).TotalSeconds;
            var end = TimeSpan.Parse(cue.Groups["end"].Value, CultureInfo.InvariantCulture).TotalSeconds;
            Assert.Equal(previousEnd, start, 3);
            Assert.True(end > start);
            previousEnd = end;
            var sprite = pipeline.Published(submission.TitleId, cue.Groups["file"].Value);
            Assert.True(File.Exists(sprite), $"{cue.Groups["file"].Value} does not exist");
            var (width, height) = await SizeAsync(sprite);
            var (x, y, w, h) = (int.Parse(cue.Groups["x"].Value, CultureInfo.InvariantCulture), int.Parse(cue.Groups["y"].Value, CultureInfo.InvariantCulture), int.Parse(cue.Groups["w"].Value, CultureInfo.InvariantCulture), int.Parse(cue.Groups["h"].Value, CultureInfo.InvariantCulture));
            Assert.Equal((160, 90), (w, h));
            Assert.True(x + w <= width && y + h <= height, $"{cue.Value} lies outside the {width}x{height} sprite");
        }

        Assert.Equal(6, previousEnd, 1);
    }

    [Fact]
    public void ChoosePoster_PrefersSharpMidToneFrames()
    {
        FrameScore[] scores =
        [
            new(0, 16, 0, 0.5),      // black, and "sharp" because it is flat
            new(1, 120, 200, 9.0),   // blurred
            new(2, 240, 20, 1.0),    // white-out
            new(3, 110, 180, 2.5),   // good
            new(4, 130, 190, 2.0),   // best
        ];
        Assert.Equal(4, Thumbnails.ChoosePoster(scores, 5));
        Assert.Equal(1, Thumbnails.ChoosePoster(scores.Take(3).ToList(), 5));
        Assert.Equal(2.5, Thumbnails.ChoosePoster([], 5));
    }

    [Fact]
    public void StoryboardVtt_WrapsTilesIntoNextSprite()
    {
        var vtt = Thumbnails.StoryboardVtt(27, 2, 53.5);
        var cues = Cue().Matches(vtt);
        Assert.Equal(27, cues.Count);
        Assert.Equal("storyboard-001.jpg#xywh=640,360,160,90", cues[24].Groups["ref"].Value);
        Assert.Equal("storyboard-002.jpg#xywh=0,0,160,90", cues[25].Groups["ref"].Value);
        Assert.Equal("00:00:53.500", cues[26].Groups["end"].Value);
    }

    private static async Task<double> LumaAsync(string image)
    {
        var json = await Probe.JsonAsync("-f", "lavfi", "-i", $"movie={image},signalstats", "-read_intervals", "%+#1", "-show_entries", "frame_tags=lavfi.signalstats.YAVG");
        return double.Parse(json.GetProperty("frames")[0].GetProperty("tags").GetProperty("lavfi.signalstats.YAVG").GetString()!, CultureInfo.InvariantCulture);
    }

    private static async Task<(int Width, int Height)> SizeAsync(string image)
    {
        var stream = (await Probe.JsonAsync("-show_entries", "stream=width,height", image)).GetProperty("streams")[0];
        return (stream.GetProperty("width").GetInt32(), stream.GetProperty("height").GetInt32());
    }

    [GeneratedRegex(@"(?<start>\d\d:\d\d:\d\d\.\d\d\d) --> (?<end>\d\d:\d\d:\d\d\.\d\d\d)\n(?<ref>(?<file>storyboard-\d{3}\.jpg)#xywh=(?<x>\d+),(?<y>\d+),(?<w>\d+),(?<h>\d+))\n")]
    private static partial Regex Cue();
}
