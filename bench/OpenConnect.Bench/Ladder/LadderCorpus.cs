using System.Globalization;

namespace OpenConnect.Bench.LadderBench;

/// <summary>A generated test clip: its name, how hard it is meant to be, and its ffmpeg lavfi graph.</summary>
public sealed record CorpusClip(string Name, bool Easy, string Description, string Graph);

/// <summary>
/// The <c>bench ladder</c> corpus, generated with ffmpeg's lavfi sources (no downloads): clips of
/// clearly different complexity at one size, frame rate and length.
/// </summary>
public static class LadderCorpus
{
    public static readonly IReadOnlyList<string> Names = ["slides", "talking", "motion", "grain"];

    private const string Font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

    /// <summary>The clip's lavfi graph at <paramref name="width"/> x <paramref name="height"/>, 30 fps, <paramref name="seconds"/> long.</summary>
    public static CorpusClip Clip(string name, int width, int height, int seconds)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 16);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 16);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seconds);
        var size = string.Create(CultureInfo.InvariantCulture, $"{width}x{height}");
        var scale = height / 1080.0;
        string Px(double value) => ((int)Math.Round(value * scale)).ToString(CultureInfo.InvariantCulture);
        return name switch
        {
            "slides" => new CorpusClip(name, true, "still slides with text, a new slide every 3 s", string.Create(
                CultureInfo.InvariantCulture,
                $"color=c=0xf4f4f0:s={size}:r=30:d={seconds},drawtext=fontfile={Font}:text='Slide %{{eif\\:trunc(t/3)+1\\:d}}  Per-title encoding':fontsize={Px(90)}:x={Px(120)}:y={Px(100)}:fontcolor=0x203060,drawtext=fontfile={Font}:text='- bitrate follows content complexity %{{eif\\:trunc(t/3)*7+3\\:d}}':fontsize={Px(54)}:x={Px(160)}:y={Px(330)}:fontcolor=black,drawtext=fontfile={Font}:text='- convex hull across resolutions':fontsize={Px(54)}:x={Px(160)}:y={Px(430)}:fontcolor=black,drawtext=fontfile={Font}:text='- SSIM and PSNR measured by ffmpeg %{{eif\\:trunc(t/3)\\:d}}':fontsize={Px(54)}:x={Px(160)}:y={Px(530)}:fontcolor=black")),
            "talking" => new CorpusClip(name, true, "slow gradient background, one small moving region (a talking head's share of the frame)", string.Create(
                CultureInfo.InvariantCulture,
                $"gradients=s={size}:r=30:d={seconds}:c0=0x304050:c1=0x8090a0:speed=0.002[bg];testsrc2=s={Px(480)}x{Px(600)}:r=30:d={seconds}[fg];[bg][fg]overlay=x={Px(720)}+{Px(40)}*sin(t):y={Px(300)}+{Px(20)}*sin(2*t)")),
            "motion" => new CorpusClip(name, false, "Mandelbrot zoom: every pixel moves, fine detail", string.Create(
                CultureInfo.InvariantCulture,
                $"mandelbrot=s={Even(width / 2)}x{Even(height / 2)}:r=30:end_scale=0.01:end_pts=400,scale={size}:flags=bicubic,trim=duration={seconds}")),
            "grain" => new CorpusClip(name, false, "moving test scene with strong temporal film grain", string.Create(
                CultureInfo.InvariantCulture,
                $"testsrc2=s={size}:r=30:d={seconds},noise=alls=18:allf=t+u")),
            _ => throw new BenchUsageException($"unknown clip '{name}' (known: {string.Join(", ", Names)})"),
        };
    }

    /// <summary>The ffmpeg arguments that write the clip as a lossless H.264 MP4 source (a mezzanine, as a studio would upload).</summary>
    public static string GenerateArguments(CorpusClip clip, string output) =>
        $"-f lavfi -i \"{clip.Graph}\" -c:v libx264 -preset ultrafast -qp 0 -pix_fmt yuv420p -g 60 -an -y \"{output}\"";

    private static int Even(int value) => Math.Max(2, value & ~1);
}
