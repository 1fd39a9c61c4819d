namespace OpenConnect.Origin.Pipeline.PerTitle;

/// <summary>
/// One trial encode of a title's sampled windows: the rung height it was encoded at, the bitrate it
/// took, and its quality measured against the source at the ladder's top frame size (the encode
/// upscaled), so that points of different heights compare on one scale.
/// </summary>
public sealed record RateQualityPoint(int Height, double Kbps, double Ssim, double Psnr);

/// <summary>
/// SSIM against bitrate at one height, piecewise linear in ln(kbit/s) through the trial points.
/// Quality is made non-decreasing in rate (a trial point that is worse than a cheaper one is noise).
/// Above the dearest point, <see cref="QualityAt"/> extrapolates the last slope (SSIM saturates, so
/// this overestimates: a fixed rung's quality is then never underestimated) while
/// <see cref="KbpsFor"/> treats anything better than the best trial as out of reach at this height
/// and answers the cheapest trial's rate for anything at or below it (so a rate is never promised
/// where it was not measured). Both directions err toward more bits.
/// </summary>
public sealed class RateQualityCurve
{
    private readonly double[] _logRates;
    private readonly double[] _qualities;

    private RateQualityCurve(double[] logRates, double[] qualities)
    {
        _logRates = logRates;
        _qualities = qualities;
    }

    public int Height { get; private init; }

    /// <summary>The best quality a trial at this height reached.</summary>
    public double MaxQuality => _qualities[^1];

    /// <summary>A curve through the SSIM points of one height; needs at least two distinct rates.</summary>
    public static RateQualityCurve From(IEnumerable<RateQualityPoint> points)
    {
        var sorted = points.OrderBy(p => p.Kbps).ToList();
        if (sorted.Count < 2)
        {
            throw new ArgumentException("a rate-quality curve needs at least two trial points", nameof(points));
        }

        if (sorted.Any(p => p.Height != sorted[0].Height))
        {
            throw new ArgumentException("all points of a curve must have the same height", nameof(points));
        }

        if (sorted.Any(p => !(p.Kbps > 0) || double.IsNaN(p.Ssim) || p.Ssim is < 0 or > 1))
        {
            throw new ArgumentException("trial points need a positive bitrate and an SSIM between 0 and 1", nameof(points));
        }

        var rates = new List<double>();
        var qualities = new List<double>();
        foreach (var point in sorted)
        {
            var logRate = Math.Log(point.Kbps);
            var quality = qualities.Count == 0 ? point.Ssim : Math.Max(point.Ssim, qualities[^1]);
            if (rates.Count > 0 && logRate - rates[^1] < 1e-9)
            {
                qualities[^1] = Math.Max(qualities[^1], quality);
                continue;
            }

            rates.Add(logRate);
            qualities.Add(quality);
        }

        if (rates.Count < 2)
        {
            throw new ArgumentException("a rate-quality curve needs at least two distinct bitrates", nameof(points));
        }

        return new RateQualityCurve([.. rates], [.. qualities]) { Height = sorted[0].Height };
    }

    /// <summary>The predicted SSIM at a bitrate (clamped to 0..1).</summary>
    public double QualityAt(double kbps)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kbps);
        var x = Math.Log(kbps);
        var last = _logRates.Length - 1;
        int segment;
        if (x <= _logRates[0])
        {
            segment = 0;
        }
        else if (x >= _logRates[last])
        {
            segment = last - 1;
        }
        else
        {
            segment = 0;
            while (x > _logRates[segment + 1])
            {
                segment++;
            }
        }

        var slope = (_qualities[segment + 1] - _qualities[segment]) / (_logRates[segment + 1] - _logRates[segment]);
        return Math.Clamp(_qualities[segment] + (slope * (x - _logRates[segment])), 0, 1);
    }

    /// <summary>
    /// The lowest bitrate predicted to reach <paramref name="quality"/>: interpolated between trial
    /// points, the cheapest trial's rate for any quality at or below it (never extrapolated down),
    /// <see cref="double.PositiveInfinity"/> above the best.
    /// </summary>
    public double KbpsFor(double quality)
    {
        if (quality > _qualities[^1])
        {
            return double.PositiveInfinity;
        }

        if (quality <= _qualities[0])
        {
            // Never below the cheapest trial: extrapolating down the first slope was measured to be too
            // optimistic (low rungs of easy titles landed below their fixed rung's SSIM).
            return Math.Exp(_logRates[0]);
        }

        for (var i = 0; i < _qualities.Length - 1; i++)
        {
            if (quality <= _qualities[i + 1])
            {
                var rise = _qualities[i + 1] - _qualities[i];
                var t = rise <= 0 ? 0 : (quality - _qualities[i]) / rise;
                return Math.Exp(_logRates[i] + (t * (_logRates[i + 1] - _logRates[i])));
            }
        }

        return Math.Exp(_logRates[^1]);
    }
}
