using System.Globalization;

namespace OpenConnect.Origin.Pipeline.PerTitle;

/// <summary>Reads the per-frame statistics files of ffmpeg's <c>ssim</c> and <c>psnr</c> filters (<c>stats_file=</c>).</summary>
public static class QualityStats
{
    /// <summary>Sum and count of the per-frame <c>All:</c> SSIM values (<c>n:1 Y:0.99 U:0.99 V:0.99 All:0.99 (21.3)</c>).</summary>
    public static (double Sum, int Frames) SsimFrames(string text) => Frames(text, "All:");

    /// <summary>Sum and count of the per-frame <c>mse_avg:</c> values of a psnr stats file.</summary>
    public static (double Sum, int Frames) MseFrames(string text) => Frames(text, "mse_avg:");

    /// <summary>PSNR (dB) of a mean squared error over 8-bit samples; 100 for a perfect match.</summary>
    public static double PsnrFromMse(double meanSquaredError) =>
        meanSquaredError <= 1e-10 ? 100 : Math.Min(100, 10 * Math.Log10(255.0 * 255.0 / meanSquaredError));

    private static (double Sum, int Frames) Frames(string text, string key)
    {
        double sum = 0;
        var frames = 0;
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var at = line.IndexOf(key, StringComparison.Ordinal);
            if (at < 0)
            {
                throw new InvalidDataException($"quality stats line without '{key}': {line}");
            }

            var value = line.AsSpan(at + key.Length);
            var end = value.IndexOf(' ');
            if (end >= 0)
            {
                value = value[..end];
            }

            if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) || double.IsNaN(parsed))
            {
                throw new InvalidDataException($"quality stats value '{value}' after '{key}' is not a number");
            }

            sum += parsed;
            frames++;
        }

        return (sum, frames);
    }
}
