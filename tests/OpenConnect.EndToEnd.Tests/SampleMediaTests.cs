using System.Globalization;
using System.Text.Json;
using OpenConnect.Testing;

namespace OpenConnect.EndToEnd.Tests;

public sealed class SampleMediaTests : IClassFixture<SampleMediaFixture>
{
    private readonly SampleMediaFixture _media;

    public SampleMediaTests(SampleMediaFixture media) => _media = media;

    public static TheoryData<string> Specs => new(SampleMedia.Standard.Select(s => s.Name));

    [Theory]
    [MemberData(nameof(Specs))]
    public async Task Fixture_GeneratesPlayableSample_WithRequestedShape(string specName)
    {
        var spec = SampleMedia.Standard.Single(s => s.Name == specName);
        var path = _media[spec];
        Assert.Equal(SampleMedia.CacheDirectory, Path.GetDirectoryName(path));
        Assert.EndsWith("." + spec.Container, path);

        var probe = await ExternalProcess.RunAsync(
            "ffprobe",
            ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", path],
            TimeSpan.FromSeconds(30));
        Assert.Equal(0, probe.ExitCode);
        using var json = JsonDocument.Parse(probe.StandardOutput);
        var streams = json.RootElement.GetProperty("streams").EnumerateArray().ToList();
        var video = Assert.Single(streams, s => s.GetProperty("codec_type").GetString() == "video");
        var audio = Assert.Single(streams, s => s.GetProperty("codec_type").GetString() == "audio");
        Assert.Equal("h264", video.GetProperty("codec_name").GetString());
        Assert.Equal(spec.Width, video.GetProperty("width").GetInt32());
        Assert.Equal(spec.Height, video.GetProperty("height").GetInt32());
        Assert.Equal("aac", audio.GetProperty("codec_name").GetString());
        var duration = double.Parse(json.RootElement.GetProperty("format").GetProperty("duration").GetString()!, CultureInfo.InvariantCulture);
        Assert.InRange(duration, spec.Seconds - 0.2, spec.Seconds + 0.3);
    }

    [Fact]
    public async Task GetAsync_ReturnsTheSameFile_WithoutRegenerating()
    {
        var first = await SampleMedia.GetAsync(SampleMedia.Mp4Small);
        var written = File.GetLastWriteTimeUtc(first);
        var second = await SampleMedia.GetAsync(SampleMedia.Mp4Small);
        Assert.Equal(first, second);
        Assert.Equal(written, File.GetLastWriteTimeUtc(second));
    }
}
