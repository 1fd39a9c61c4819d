using System.Text.Json;
using OpenConnect.Origin.Pipeline;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Pipeline;

/// <summary>The per-title ladder through the whole pipeline: two real titles of opposite complexity, real trial encodes.</summary>
public sealed class PerTitlePipelineTests
{
    private const string Font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

    [Fact]
    public async Task StillSlides_GetFarFewerBitsThanFilmGrain_AndNeitherExceedsTheFixedLadder()
    {
        using var media = new TempDirectory("openconnect-pertitle");
        var slides = await GenerateAsync(media.Combine("slides.mp4"), $"color=c=0xf4f4f0:s=640x360:r=30:d=4,drawtext=fontfile={Font}:text='Slide %{{eif\\:trunc(t/2)+1\\:d}}':fontsize=40:x=40:y=40:fontcolor=black");
        var grain = await GenerateAsync(media.Combine("grain.mp4"), "testsrc2=s=640x360:r=30:d=4,noise=alls=18:allf=t+u");

        await using var pipeline = await PipelineHarness.StartAsync(
            null,
            "--Origin:Pipeline:SegmentSeconds=2",
            "--Origin:Pipeline:ChunkSeconds=2",
            "--Origin:Pipeline:Ladder=per-title",
            "--Origin:Pipeline:PerTitleMinSourceSeconds=0",
            "--Origin:Pipeline:PerTitleSampleWindows=2",
            "--Origin:Pipeline:PerTitleWindowSeconds=1");
        var fixedLadder = PipelineOptions.DefaultBitratesKbps;

        var (slidesRungs, slidesSpent, slidesFixedSpent) = await PublishAsync(pipeline, slides);
        var (grainRungs, grainSpent, _) = await PublishAsync(pipeline, grain);

        // Bits the calibration encodes really spent: the slides' own ladder at most 80 % of the fixed one
        // (nominal rates say little here: a still title's fixed rung spends far less than its target).
        Assert.True(slidesSpent <= slidesFixedSpent * 0.8, $"slides ladder {Show(slidesRungs)} spent {slidesSpent:F0} kbit/s, fixed {slidesFixedSpent:F0}");
        Assert.True(grainSpent >= slidesSpent * 3, $"grain ladder {Show(grainRungs)} ({grainSpent:F0} kbit/s) should need far more than slides {Show(slidesRungs)} ({slidesSpent:F0})");
        // Grain is beyond what any trial rate reaches at 360p, so its top rung keeps the fixed bitrate.
        Assert.Equal(fixedLadder[360], grainRungs.Max(r => r.Kbps));
        foreach (var rung in slidesRungs.Concat(grainRungs))
        {
            Assert.True(rung.Height <= 360, $"{rung.Name} is above the source");
            Assert.True(rung.Kbps <= fixedLadder[rung.Height], $"{rung.Name} at {rung.Kbps} kbit/s is above the fixed ladder's {fixedLadder[rung.Height]} for {rung.Height}p");
        }
    }

    private static string Show(IEnumerable<(string Name, int Height, int Kbps)> rungs) => string.Join(", ", rungs.Select(r => $"{r.Name}@{r.Kbps}k"));

    private static async Task<(List<(string Name, int Height, int Kbps)> Rungs, double Spent, double FixedSpent)> PublishAsync(PipelineHarness pipeline, string source)
    {
        var submission = await pipeline.SubmitCopyAsync(source);
        Assert.True(submission.Accepted, submission.Reason);
        var title = await pipeline.WaitForEndAsync(submission.TitleId, TimeSpan.FromMinutes(4));
        Assert.True(title.GetProperty("state").GetString() == "published", title.ToString());

        // The analysis is recorded beside the plan: one trial per candidate height and rate factor.
        var ladder = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(new PipelinePaths(pipeline.DataDirectory).Work(submission.TitleId), "ladder.json"))).RootElement;
        Assert.Equal(3 * 4, ladder.GetProperty("analysis").GetProperty("Points").GetArrayLength());

        // Calibration measured every fixed rung and every final rung with real encodes; each final rung
        // is a fixed rung, or measured at least the SSIM of the fixed rungs it serves, or sits at the source's
        // own bitrate (no rung goes above the source, even where the fixed ladder does).
        var sourceKbps = new FileInfo(source).Length * 8 / 1000.0 / 4;
        var calibration = ladder.GetProperty("calibration");
        var checks = calibration.GetProperty("Checks").EnumerateArray().ToDictionary(c => (c.GetProperty("Height").GetInt32(), c.GetProperty("Kbps").GetInt32()), c => c.GetProperty("Ssim").GetDouble());
        var spent = calibration.GetProperty("Checks").EnumerateArray().ToDictionary(c => (c.GetProperty("Height").GetInt32(), c.GetProperty("Kbps").GetInt32()), c => c.GetProperty("SpentKbps").GetDouble());
        var fixedSpent = new[] { 144, 240, 360 }.Sum(h => spent[(h, PipelineOptions.DefaultBitratesKbps[h])]);
        var ownSpent = calibration.GetProperty("Rungs").EnumerateArray().Sum(r => spent[(r.GetProperty("Height").GetInt32(), r.GetProperty("Kbps").GetInt32())]);
        var fixedKbps = PipelineOptions.DefaultBitratesKbps;
        foreach (var height in new[] { 144, 240, 360 })
        {
            Assert.True(checks.ContainsKey((height, fixedKbps[height])), $"fixed rung {height}p was not measured");
        }

        foreach (var rung in calibration.GetProperty("Rungs").EnumerateArray())
        {
            var (height, kbps) = (rung.GetProperty("Height").GetInt32(), rung.GetProperty("Kbps").GetInt32());
            var serves = rung.GetProperty("Serves").EnumerateArray().Select(s => s.GetInt32()).ToList();
            var isFixed = height == serves.Max() && kbps == fixedKbps[height];
            var target = serves.Max(h => checks[(h, fixedKbps[h])]);
            var atSource = kbps >= Math.Floor(sourceKbps);
            Assert.True(isFixed || atSource || checks[(height, kbps)] >= target, $"{height}p@{kbps}k measured {checks[(height, kbps)]}, below its fixed rungs' {target} (source {sourceKbps:F0} kbit/s)");
        }

        var rungs = title.GetProperty("renditions").EnumerateArray()
            .Select(r => (Name: r.GetProperty("name").GetString()!, Height: Math.Min(r.GetProperty("width").GetInt32(), r.GetProperty("height").GetInt32()), Kbps: r.GetProperty("bitrateKbps").GetInt32()))
            .ToList();
        Assert.NotEmpty(rungs);
        return (rungs, ownSpent, fixedSpent);
    }

    private static async Task<string> GenerateAsync(string path, string graph)
    {
        var result = await ExternalProcess.RunAsync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi", "-i", graph, "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p", "-g", "60", path], TimeSpan.FromMinutes(2));
        Assert.True(result.ExitCode == 0, $"ffmpeg could not generate {Path.GetFileName(path)}: {result.StandardError}");
        return path;
    }
}
