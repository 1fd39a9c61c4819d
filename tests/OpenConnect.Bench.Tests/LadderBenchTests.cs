using OpenConnect.Bench.LadderBench;

namespace OpenConnect.Bench.Tests;

/// <summary>The options and corpus of <c>bench ladder</c>.</summary>
public sealed class LadderBenchTests
{
    [Fact]
    public void Settings_DefaultToTheFourClipsAt1080p()
    {
        var settings = LadderSettings.Parse([]);

        Assert.Equal(["slides", "talking", "motion", "grain"], settings.Clips);
        Assert.Equal((8, 1080, 4), (settings.Seconds, settings.Height, settings.CodecSeconds));
        Assert.Equal(["vp9", "av1"], settings.Codecs);
        Assert.Equal([720, 1080], settings.CodecHeights);
    }

    [Fact]
    public void Settings_ParseEveryOption()
    {
        var settings = LadderSettings.Parse(["--clips", "slides, grain", "--seconds", "6", "--height", "720", "--codecs", "av1", "--codec-heights", "480,720", "--codec-seconds", "0", "--work", "/tmp/x", "--keep"]);

        Assert.Equal(["slides", "grain"], settings.Clips);
        Assert.Equal((6, 720, 0, "/tmp/x", true), (settings.Seconds, settings.Height, settings.CodecSeconds, settings.Work, settings.Keep));
        Assert.Equal(["av1"], settings.Codecs);
        Assert.Equal([480, 720], settings.CodecHeights);
    }

    [Theory]
    [InlineData("--clips", "cartoon", "unknown clip 'cartoon'")]
    [InlineData("--seconds", "2", "--seconds must be an integer between 4 and 120")]
    [InlineData("--codecs", "h266", "'h266' is not one of vp9, av1, hevc")]
    [InlineData("--codec-seconds", "20", "--codec-seconds must not exceed --seconds")]
    [InlineData("--speed", "1", "unknown option '--speed'")]
    public void Settings_RejectBadValues(string name, string value, string message)
    {
        var error = Assert.Throws<BenchUsageException>(() => LadderSettings.Parse([name, value]));

        Assert.Contains(message, error.Message);
    }

    [Theory]
    [InlineData("slides", true, "drawtext")]
    [InlineData("talking", true, "overlay")]
    [InlineData("motion", false, "mandelbrot=s=960x540")]
    [InlineData("grain", false, "noise=alls=18")]
    public void Corpus_ClipsAreGeneratedAtTheRequestedSize(string name, bool easy, string part)
    {
        var clip = LadderCorpus.Clip(name, 1920, 1080, 8);

        Assert.Equal(easy, clip.Easy);
        Assert.Contains(part, clip.Graph);
        Assert.Contains(name == "motion" ? "scale=1920x1080" : "1920x1080", clip.Graph);
        Assert.Contains("-qp 0", LadderCorpus.GenerateArguments(clip, "/tmp/out.mp4"));
    }

    [Fact]
    public void Corpus_RejectsAnUnknownClip() =>
        Assert.Throws<BenchUsageException>(() => LadderCorpus.Clip("cartoon", 1920, 1080, 8));
}
