using OpenConnect.Contracts.Content;
using OpenConnect.Origin.Pipeline;

namespace OpenConnect.Origin.Tests.Pipeline;

public sealed class LadderTests
{
    [Theory]
    [InlineData(3840, 2160, "144,240,360,480,720,1080,1440,2160")]
    [InlineData(1920, 1080, "144,240,360,480,720,1080")]
    [InlineData(1920, 1088, "144,240,360,480,720,1080")]
    [InlineData(1280, 720, "144,240,360,480,720")]
    [InlineData(1278, 718, "144,240,360,480")]
    [InlineData(640, 360, "144,240,360")]
    [InlineData(720, 480, "144,240,360,480")]
    [InlineData(1080, 1920, "144,240,360,480,720,1080")]
    [InlineData(320, 240, "144,240")]
    [InlineData(256, 144, "144")]
    public void Rungs_NeverExceedTheSourceShortSide(int width, int height, string expected)
    {
        var rungs = Ladder.For(width, height, new PipelineOptions());

        Assert.Equal(expected, string.Join(',', rungs.Select(r => r.Height)));
        Assert.All(rungs, r =>
        {
            Assert.True(r.Width <= width + 1 && r.FrameHeight <= height + 1, $"{r.Name} {r.Width}x{r.FrameHeight} is larger than {width}x{height}");
            Assert.True(r.Width % 2 == 0 && r.FrameHeight % 2 == 0, $"{r.Name} has odd dimensions {r.Width}x{r.FrameHeight}");
            Assert.Equal(r.Height, Math.Min(r.Width, r.FrameHeight));
        });
    }

    [Theory]
    [InlineData(1920, 1080, 720, 1280, 720)]
    [InlineData(1080, 1920, 720, 720, 1280)]
    [InlineData(1440, 1080, 480, 640, 480)]
    [InlineData(1000, 562, 360, 640, 360)]
    [InlineData(853, 480, 240, 426, 240)]
    public void FrameSize_KeepsAspect_WithEvenDimensions(int width, int height, int shortSide, int expectedWidth, int expectedHeight)
    {
        Assert.Equal((expectedWidth, expectedHeight), Ladder.FrameSize(width, height, shortSide));
    }

    [Theory]
    [InlineData(100, 56, 56, 100)]
    [InlineData(121, 91, 90, 120)]
    public void TinySource_GetsOneRungAtItsOwnSize(int width, int height, int expectedShort, int expectedLong)
    {
        var rung = Assert.Single(Ladder.For(width, height, new PipelineOptions()));
        Assert.Equal(expectedShort, rung.FrameHeight);
        Assert.Equal(expectedLong, rung.Width);
        Assert.True(ContentKey.IsValidRendition(rung.Name));
    }

    [Fact]
    public void Codecs_AddRenditionsPerCodec_WithValidNames_AndH264IsAlwaysThere()
    {
        var options = new PipelineOptions { Codecs = ["av1", "hevc", "vp9", "hevc"], MaxHeight = 480 };
        var rungs = Ladder.For(1920, 1080, options);

        Assert.Equal(
            ["144p", "240p", "360p", "480p", "144p-av1", "240p-av1", "360p-av1", "480p-av1", "144p-hevc", "240p-hevc", "360p-hevc", "480p-hevc", "144p-vp9", "240p-vp9", "360p-vp9", "480p-vp9"],
            rungs.Select(r => r.Name).ToList());
        Assert.All(rungs, r => Assert.True(ContentKey.IsValidRendition(r.Name), r.Name));
        Assert.True(rungs.First(r => r.Name == "480p-av1").BitrateKbps < rungs.First(r => r.Name == "480p").BitrateKbps);
    }

    [Fact]
    public void ConfiguredBitrates_OverrideDefaults()
    {
        var options = new PipelineOptions { BitratesKbps = new() { ["720"] = 3300 } };
        var rungs = Ladder.For(1280, 720, options);

        Assert.Equal(3300, rungs.Single(r => r.Name == "720p").BitrateKbps);
        Assert.Equal(PipelineOptions.DefaultBitratesKbps[480], rungs.Single(r => r.Name == "480p").BitrateKbps);
    }

    [Fact]
    public void SplitScaleFilter_DecodesOnce_AndLabelsOneScaledBranchPerRung()
    {
        var rungs = Ladder.For(1280, 720, new PipelineOptions()).Take(2).ToList();

        Assert.Equal(
            "[0:v:0]split=2[s0][s1];[s0]scale=256:144:flags=bicubic,setsar=1[v0];[s1]scale=426:240:flags=bicubic,setsar=1[v1]",
            EncoderArguments.SplitScaleFilter(rungs));
    }

    [Theory]
    [InlineData("Pipeline:SegmentSeconds", "5")]
    [InlineData("Pipeline:ChunkSeconds", "6")]
    [InlineData("Pipeline:Codecs:0", "h266")]
    [InlineData("Pipeline:BitratesKbps:700", "1000")]
    [InlineData("Pipeline:MaxParallelEncodes", "0")]
    [InlineData("Pipeline:MaxHeight", "1000")]
    [InlineData("Pipeline:X264Preset", "warp")]
    public async Task InvalidSettings_StopTheStart_NamingTheKey(string key, string value)
    {
        using var dir = new OpenConnect.Testing.TempDirectory();
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => OpenConnect.Testing.RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={dir.Path}", $"--Origin:{key}={value}"));
        Assert.Contains($"Origin:{key.Split(':')[0]}:{key.Split(':')[1]}", ex.Message, StringComparison.Ordinal);
    }
}
