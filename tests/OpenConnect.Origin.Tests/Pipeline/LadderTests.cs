using Microsoft.Extensions.Configuration;
using OpenConnect.Contracts.Content;
using OpenConnect.Hosting;
using OpenConnect.Origin.Pipeline;
using OpenConnect.Origin.Pipeline.PerTitle;

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

        Assert.Equal(expected, Heights(rungs, "h264"));
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
        var options = new PipelineOptions { Codecs = ["av1", "hevc", "vp9", "hevc"], CodecMinHeights = new() { ["av1"] = 144 }, MaxHeight = 480 };
        var rungs = Ladder.For(1920, 1080, options);

        Assert.Equal(
            ["144p", "240p", "360p", "480p", "144p-av1", "240p-av1", "360p-av1", "480p-av1", "144p-hevc", "240p-hevc", "360p-hevc", "480p-hevc", "144p-vp9", "240p-vp9", "360p-vp9", "480p-vp9"],
            rungs.Select(r => r.Name).ToList());
        Assert.All(rungs, r => Assert.True(ContentKey.IsValidRendition(r.Name), r.Name));
        Assert.True(rungs.First(r => r.Name == "480p-av1").BitrateKbps < rungs.First(r => r.Name == "480p").BitrateKbps);
    }

    [Theory]
    [InlineData(3840, 2160, "144,240,360,480,720,1080,1440,2160", "1080,1440,2160")]
    [InlineData(1920, 1080, "144,240,360,480,720,1080", "1080")]
    [InlineData(1080, 1920, "144,240,360,480,720,1080", "1080")]
    [InlineData(1280, 720, "144,240,360,480,720", "")]
    [InlineData(640, 360, "144,240,360", "")]
    [InlineData(100, 56, "56", "")]
    public void Default_IsH264AtEveryRung_AndAv1From1080p(int width, int height, string h264, string av1)
    {
        var rungs = Ladder.For(width, height, new PipelineOptions());

        Assert.Equal(h264, Heights(rungs, "h264"));
        Assert.Equal(av1, Heights(rungs, "av1"));
        Assert.All(rungs, r => Assert.Contains(r.Codec, PipelineOptions.DefaultCodecs));
        Assert.All(rungs.Where(r => r.Codec == "av1"), r => Assert.Equal($"{r.Height}p-av1", r.Name));
    }

    [Theory]
    [InlineData("av1", "", "1920x1080", "144,240,360,480,720,1080", "1080", "")]
    [InlineData("av1", "av1=720", "1920x1080", "144,240,360,480,720,1080", "720,1080", "")]
    [InlineData("av1", "AV1=144", "640x360", "144,240,360", "144,240,360", "")]
    [InlineData("av1", "av1=2160", "1920x1080", "144,240,360,480,720,1080", "", "")]
    [InlineData("av1", "av1=500", "1280x720", "144,240,360,480,720", "720", "")]
    [InlineData("h264", "", "3840x2160", "144,240,360,480,720,1080,1440,2160", "", "")]
    [InlineData("vp9", "", "1280x720", "144,240,360,480,720", "", "144,240,360,480,720")]
    [InlineData("vp9,av1", "vp9=480", "1920x1080", "144,240,360,480,720,1080", "1080", "480,720,1080")]
    [InlineData("vp9,av1", "vp9=480;av1=360", "1280x720", "144,240,360,480,720", "360,480,720", "480,720")]
    [InlineData("av1", "av1=100", "100x56", "56", "", "")]
    [InlineData("av1", "av1=56", "100x56", "56", "56", "")]
    public void CodecMinHeights_LimitEachExtraCodec_AndH264KeepsEveryRung(string codecs, string minHeights, string source, string h264, string av1, string vp9)
    {
        var options = new PipelineOptions
        {
            Codecs = [.. codecs.Split(',')],
            CodecMinHeights = minHeights.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=')).ToDictionary(p => p[0], p => int.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture)),
        };
        var size = source.Split('x').Select(v => int.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();

        var rungs = Ladder.For(size[0], size[1], options);

        Assert.Equal(h264, Heights(rungs, "h264"));
        Assert.Equal(av1, Heights(rungs, "av1"));
        Assert.Equal(vp9, Heights(rungs, "vp9"));
    }

    [Theory]
    [InlineData("", "480,720,1080", "1080")]
    [InlineData("av1=720", "480,720,1080", "720,1080")]
    [InlineData("av1=1440", "480,720,1080", "")]
    public void FromPlan_AppliesTheCodecMinimumHeights(string minHeights, string h264, string av1)
    {
        var options = new PipelineOptions
        {
            CodecMinHeights = minHeights.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=')).ToDictionary(p => p[0], p => int.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture)),
        };
        PlannedRung[] planned = [new(480, 900, 0.95, 0.95, [480]), new(720, 2000, 0.97, 0.97, [720]), new(1080, 4000, 0.99, 0.99, [1080])];

        var rungs = Ladder.FromPlan(1920, 1080, options, planned);

        Assert.Equal(h264, Heights(rungs, "h264"));
        Assert.Equal(av1, Heights(rungs, "av1"));
        Assert.All(rungs.Where(r => r.Codec == "av1"), r => Assert.Equal((int)Math.Round(planned.Single(p => p.Height == r.Height).Kbps * Ladder.BitrateFactor("av1")), r.BitrateKbps));
    }

    [Theory]
    [InlineData("Codecs:0", "h265", "Codecs", "must be one of h264, hevc, vp9, av1")]
    [InlineData("CodecMinHeights:h264", "720", "CodecMinHeights:h264", "H.264 is produced at every rung")]
    [InlineData("CodecMinHeights:opus", "720", "CodecMinHeights:opus", "the key must be hevc, vp9 or av1")]
    [InlineData("CodecMinHeights:av1", "0", "CodecMinHeights:av1", "must be a positive height")]
    [InlineData("CodecMinHeights:av1", "-360", "CodecMinHeights:av1", "must be a positive height")]
    [InlineData("CodecMinHeights:vp9", "9000", "CodecMinHeights:vp9", "at most 4320")]
    [InlineData("Ladder", "adaptive", "Ladder", "must be per-title or fixed")]
    [InlineData("PerTitleMinSourceSeconds", "-1", "PerTitleMinSourceSeconds", "must be between 0 and 86400")]
    public void Validation_RejectsUnknownCodecsAndNonPositiveHeights(string key, string value, string reported, string message)
    {
        var options = Bind(new Dictionary<string, string?> { [$"Origin:Pipeline:{key}"] = value });
        var check = new OptionsCheck("Origin");

        options.Validate(check);

        var error = Assert.Single(check.Errors);
        Assert.StartsWith($"Origin:Pipeline:{reported} = '{value}' is invalid", error, StringComparison.Ordinal);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Configuration_ReplacesTheDefaultCodecs_AndOverridesOneMinimumHeight()
    {
        Assert.Equal(["h264", "av1"], new PipelineOptions().EffectiveCodecs);
        Assert.Equal(1080, new PipelineOptions().MinHeightFor("av1"));

        var onlyH264 = Bind(new Dictionary<string, string?> { ["Origin:Pipeline:Codecs:0"] = "h264" });
        Assert.Equal(["h264"], onlyH264.EffectiveCodecs);

        var vp9 = Bind(new Dictionary<string, string?> { ["Origin:Pipeline:Codecs:0"] = "h264", ["Origin:Pipeline:Codecs:1"] = "vp9", ["Origin:Pipeline:Codecs:2"] = "av1", ["Origin:Pipeline:CodecMinHeights:Av1"] = "720" });
        Assert.Equal(["h264", "vp9", "av1"], vp9.EffectiveCodecs);
        Assert.Equal(720, vp9.MinHeightFor("av1"));
        Assert.Equal(0, vp9.MinHeightFor("vp9"));
        Assert.Equal(0, vp9.MinHeightFor("h264"));
    }

    private static PipelineOptions Bind(Dictionary<string, string?> values)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        return configuration.GetSection("Origin:Pipeline").Get<PipelineOptions>() ?? new PipelineOptions();
    }

    private static string Heights(IReadOnlyList<Rung> rungs, string codec) =>
        string.Join(',', rungs.Where(r => r.Codec == codec).Select(r => r.Height));

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
