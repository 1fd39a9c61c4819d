using System.Globalization;
using Microsoft.Extensions.Configuration;
using OpenConnect.Hosting;
using OpenConnect.Origin.Pipeline;

namespace OpenConnect.Origin.Tests.Pipeline;

/// <summary>The short first segment: a keyframe forced at its end in every H.264 rung, and the cut that follows the keyframes.</summary>
public sealed class FirstSegmentTests
{
    [Theory]
    [InlineData(4, 0, "expr:gte(t,n_forced*4)")]
    [InlineData(4, 1, "expr:if(lt(n_forced,2),gte(t,n_forced*1),gte(t,(n_forced-1)*4))")]
    [InlineData(2, 0.5, "expr:if(lt(n_forced,2),gte(t,n_forced*0.5),gte(t,(n_forced-1)*2))")]
    public void ForcedKeyframes_AddOneAtTheFirstSegmentsEnd_ThenKeepTheGrid(int segmentSeconds, double firstSegmentSeconds, string expected) =>
        Assert.Equal(expected, EncoderArguments.ForcedKeyframes(segmentSeconds, firstSegmentSeconds));

    [Fact]
    public void VideoArguments_CarryTheExtraKeyframe_OnlyWhenAsked()
    {
        var rung = new Rung("360p", "h264", 360, 640, 360, 800);
        Assert.Contains("-force_key_frames:v \"expr:gte(t,n_forced*4)\"", EncoderArguments.Video(rung, 30, 4, new PipelineOptions()), StringComparison.Ordinal);
        Assert.Contains("-force_key_frames:v \"expr:if(lt(n_forced,2),gte(t,n_forced*1),gte(t,(n_forced-1)*4))\"", EncoderArguments.Video(rung, 30, 4, new PipelineOptions(), firstSegmentSeconds: 1), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "h264", "h264" }, 1, 4, 1)]
    [InlineData(new[] { "h264", "h264" }, 0, 4, 4)]
    [InlineData(new[] { "h264", "av1" }, 1, 4, 4)]
    [InlineData(new[] { "hevc" }, 1, 2, 2)]
    public void CutSeconds_IsTheFirstSegment_OnlyForAllH264Ladders(string[] codecs, double firstSegmentSeconds, int segmentSeconds, double expected)
    {
        var rungs = codecs.Select((c, i) => new Rung($"r{i}", c, 360, 640, 360, 800)).ToList();
        var plan = new TitlePlan(rungs, [], segmentSeconds, 30, 10, true);
        var options = new PipelineOptions { SegmentSeconds = segmentSeconds, FirstSegmentSeconds = firstSegmentSeconds };

        Assert.Equal(expected, TitleProcessor.CutSeconds(plan, TitleProcessor.FirstSegmentSeconds(rungs, options)));
    }

    [Theory]
    [InlineData("4", "0", true)]
    [InlineData("4", "1", true)]
    [InlineData("4", "2", true)]
    [InlineData("2", "1", true)]
    [InlineData("2", "0.5", true)]
    [InlineData("2", "1.5", false)]
    [InlineData("4", "0.25", false)]
    [InlineData("4", "-1", false)]
    public void Validation_AcceptsOffOrHalfASegmentAtMost(string segmentSeconds, string firstSegmentSeconds, bool valid)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Origin:Pipeline:SegmentSeconds"] = segmentSeconds,
            ["Origin:Pipeline:ChunkSeconds"] = "12",
            ["Origin:Pipeline:FirstSegmentSeconds"] = firstSegmentSeconds,
        }).Build();
        var options = configuration.GetSection("Origin:Pipeline").Get<PipelineOptions>()!;
        var check = new OptionsCheck("Origin");

        options.Validate(check);

        if (valid)
        {
            Assert.Empty(check.Errors);
        }
        else
        {
            var error = Assert.Single(check.Errors);
            Assert.StartsWith($"Origin:Pipeline:FirstSegmentSeconds = '{firstSegmentSeconds}' is invalid", error, StringComparison.Ordinal);
            Assert.Contains("half of Pipeline:SegmentSeconds", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task H264Title_HasAShortFirstSegment_AlignedInEveryRendition_AndAudioOnTheGrid()
    {
        await using var pipeline = await PipelineHarness.StartAsync(null, "--Origin:Pipeline:SegmentSeconds=2", "--Origin:Pipeline:ChunkSeconds=4", "--Origin:Pipeline:FirstSegmentSeconds=0.5");
        var source = await PipelineMedia.ClipAsync(640, 360, 6);
        var submission = await pipeline.SubmitCopyAsync(source);
        Assert.True(submission.Accepted, submission.Reason);

        var title = await pipeline.WaitForEndAsync(submission.TitleId, TimeSpan.FromMinutes(3));
        Assert.True(title.GetProperty("state").GetString() == "published", title.ToString());

        // Keyframe instants and segment boundaries checked by ffprobe in every rendition, durations against the source.
        await PackagingTests.AssertPackagedAsync(pipeline, submission.TitleId, source, [("144p", "h264", 144), ("240p", "h264", 240), ("360p", "h264", 360)]);
        foreach (var rendition in (string[])["144p", "240p", "360p"])
        {
            Assert.Equal([0.5, 1.5, 2, 2], await DurationsAsync(pipeline, submission.TitleId, rendition));
        }

        // Audio keeps the regular segments (the last may hold a few AAC frames past the video's end).
        var audio = await DurationsAsync(pipeline, submission.TitleId, "audio");
        Assert.All(audio.SkipLast(1), d => Assert.InRange(d, 1.95, 2.05));
        var mpd = await pipeline.Client.GetStringAsync($"/v/{submission.TitleId}/manifest.mpd");
        Assert.Contains("<S t=\"0\" d=\"500\" />", mpd, StringComparison.Ordinal);
    }

    private static async Task<List<double>> DurationsAsync(PipelineHarness pipeline, string titleId, string rendition)
    {
        var playlist = await pipeline.Client.GetStringAsync($"/v/{titleId}/{rendition}/index.m3u8");
        return [.. playlist.Split('\n').Where(l => l.StartsWith("#EXTINF:", StringComparison.Ordinal)).Select(l => Math.Round(double.Parse(l["#EXTINF:".Length..].TrimEnd(','), CultureInfo.InvariantCulture), 3))];
    }
}
