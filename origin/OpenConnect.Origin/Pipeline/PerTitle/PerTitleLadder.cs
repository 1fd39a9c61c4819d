namespace OpenConnect.Origin.Pipeline.PerTitle;

/// <summary>A rung of the fixed ladder: its height and H.264 bitrate.</summary>
public sealed record FixedRung(int Height, int Kbps);

/// <summary>
/// A rung of a title's own ladder: height and H.264 bitrate, the SSIM it is predicted to reach, and
/// the fixed rungs (by height) whose quality it stands in for.
/// </summary>
public sealed record PlannedRung(int Height, int Kbps, double PredictedSsim, double TargetSsim, IReadOnlyList<int> Serves);

/// <summary>The knobs of <see cref="PerTitleLadder.Choose"/>.</summary>
/// <param name="RateMargin">Bits added to a predicted rate to absorb the trial's error (0.10 = 10 %).</param>
/// <param name="MinRungStep">Smallest bitrate ratio between neighbouring rungs; a rung closer to the one above is merged into it.</param>
/// <param name="MinKbps">Floor of any rung's bitrate.</param>
public sealed record PerTitleRules(double RateMargin = 0.10, double MinRungStep = 1.3, int MinKbps = 50);

/// <summary>
/// Chooses a title's rungs from its rate-quality curves (one per candidate height, SSIM measured at
/// the top frame size). Each fixed rung sets a quality target: the SSIM the fixed ladder's bitrate
/// would give on this title at that rung's height. For each target, top down, the rung is the
/// (height, bitrate) on the convex hull across heights that reaches the target with the fewest bits,
/// plus <see cref="PerTitleRules.RateMargin"/>, but never more than the fixed rung's bitrate (where
/// no height does better, the fixed rung itself is kept, so quality never drops below it), never
/// above the source's bitrate, with heights never rising down the ladder (an easy title may have
/// several rungs at its top height) and neighbouring rungs at least
/// <see cref="PerTitleRules.MinRungStep"/> apart. Pure: tested as tables.
/// </summary>
public static class PerTitleLadder
{
    /// <param name="curves">Rate-quality curves by height: the candidate heights (none above the source).</param>
    /// <param name="fixedRungs">The fixed ladder for this source, any order.</param>
    /// <param name="sourceKbps">The source's own bitrate (no rung goes above it), or null when unknown.</param>
    /// <param name="rules">Margin, spacing and floor.</param>
    public static IReadOnlyList<PlannedRung> Choose(IReadOnlyDictionary<int, RateQualityCurve> curves, IReadOnlyList<FixedRung> fixedRungs, double? sourceKbps, PerTitleRules rules)
    {
        ArgumentOutOfRangeException.ThrowIfZero(curves.Count);
        ArgumentOutOfRangeException.ThrowIfZero(fixedRungs.Count);
        ArgumentOutOfRangeException.ThrowIfNegative(rules.RateMargin);
        ArgumentOutOfRangeException.ThrowIfLessThan(rules.MinRungStep, 1.0);
        foreach (var rung in fixedRungs)
        {
            if (!curves.ContainsKey(rung.Height))
            {
                throw new ArgumentException($"no rate-quality curve for the fixed rung at {rung.Height}p", nameof(fixedRungs));
            }
        }

        var chosen = new List<(int Height, double Kbps, double Target, List<int> Serves)>();
        var ceilingHeight = int.MaxValue;
        foreach (var target in fixedRungs.OrderByDescending(r => r.Height))
        {
            var quality = curves[target.Height].QualityAt(target.Kbps);
            var (height, kbps) = Best(curves, quality, ceilingHeight, rules.RateMargin);
            if (height == 0)
            {
                chosen[^1].Serves.Add(target.Height); // no candidate height at all: the rung above serves this target too
                continue;
            }

            if (kbps > target.Kbps)
            {
                if (target.Height <= ceilingHeight)
                {
                    (height, kbps) = (target.Height, target.Kbps);
                }
                else
                {
                    kbps = target.Kbps; // the rung above went lower than this fixed rung's height: the best height at the fixed bits
                }
            }

            kbps = Math.Max(kbps, rules.MinKbps);
            if (sourceKbps is { } source)
            {
                kbps = Math.Min(kbps, Math.Max(rules.MinKbps, source));
            }

            if (chosen.Count > 0 && kbps * rules.MinRungStep > chosen[^1].Kbps)
            {
                chosen[^1].Serves.Add(target.Height);
                continue;
            }

            chosen.Add((height, kbps, quality, [target.Height]));
            ceilingHeight = height;
        }

        return chosen
            .Select(c => new PlannedRung(c.Height, (int)Math.Round(c.Kbps), curves[c.Height].QualityAt(Math.Round(c.Kbps)), c.Target, c.Serves.Order().ToList()))
            .OrderBy(r => r.Kbps)
            .ToList();
    }

    /// <summary>
    /// One calibration step for a rung whose real encode measured <paramref name="measuredSsim"/>
    /// against the <paramref name="targetSsim"/> its fixed rungs measured the same way: null when
    /// the target is reached (or the rung is the fixed rung itself, or it cannot rise above the
    /// source); otherwise the rung at <paramref name="step"/> times the rate, and once that reaches
    /// the fixed rate of <paramref name="own"/> (the dearest fixed rung it serves) that fixed rung
    /// itself, which meets its own target by definition.
    /// </summary>
    public static PlannedRung? Raise(PlannedRung rung, double measuredSsim, double targetSsim, FixedRung own, double? sourceKbps, double step)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(step, 1.0);
        if (measuredSsim >= targetSsim || (rung.Height == own.Height && rung.Kbps >= own.Kbps))
        {
            return null;
        }

        var kbps = (int)Math.Ceiling(rung.Kbps * step);
        if (sourceKbps is { } source && kbps > source && source < own.Kbps)
        {
            var capped = (int)Math.Floor(source);
            return capped > rung.Kbps ? rung with { Kbps = capped, PredictedSsim = measuredSsim, TargetSsim = targetSsim } : null;
        }

        return kbps >= own.Kbps
            ? rung with { Height = own.Height, Kbps = own.Kbps, PredictedSsim = targetSsim, TargetSsim = targetSsim }
            : rung with { Kbps = kbps, PredictedSsim = measuredSsim, TargetSsim = targetSsim };
    }

    /// <summary>
    /// The source bitrate that caps a calibration raise, or null for none: the source caps a rung only
    /// where its fixed rung's real encode spends more than the source. An easy title's fixed encode
    /// often spends far less than its nominal rate; falling back to it is then no dearer than the source.
    /// </summary>
    public static double? SourceCap(double? sourceKbps, double fixedSpentKbps) =>
        sourceKbps is { } limit && fixedSpentKbps > limit ? limit : null;

    /// <summary>
    /// The ladder after calibration: rungs that ended at the same height and rate become one, and a
    /// rung closer than <see cref="PerTitleRules.MinRungStep"/> below the next dearer one is merged
    /// into it when that one's measured SSIM (<paramref name="measured"/>, by height and rate) meets
    /// the merged rung's target. Cheapest first.
    /// </summary>
    public static IReadOnlyList<PlannedRung> Tidy(IReadOnlyList<PlannedRung> rungs, IReadOnlyDictionary<(int Height, int Kbps), double> measured, PerTitleRules rules)
    {
        var kept = new List<PlannedRung>();
        foreach (var rung in rungs.OrderByDescending(r => r.Kbps).ThenByDescending(r => r.Height))
        {
            if (kept.Count > 0)
            {
                var above = kept[^1];
                var same = above.Height == rung.Height && above.Kbps == rung.Kbps;
                var close = rung.Kbps * rules.MinRungStep > above.Kbps && measured.TryGetValue((above.Height, above.Kbps), out var ssim) && ssim >= rung.TargetSsim;
                if (same || close)
                {
                    kept[^1] = above with { Serves = [.. above.Serves.Concat(rung.Serves).Distinct().Order()] };
                    continue;
                }
            }

            kept.Add(rung);
        }

        return [.. kept.OrderBy(r => r.Kbps).ThenBy(r => r.Height)];
    }

    /// <summary>The height up to <paramref name="ceilingHeight"/> needing the fewest bits for the quality; ties go to the larger height.</summary>
    private static (int Height, double Kbps) Best(IReadOnlyDictionary<int, RateQualityCurve> curves, double quality, int ceilingHeight, double margin)
    {
        var best = (Height: 0, Kbps: double.PositiveInfinity);
        foreach (var (height, curve) in curves.OrderByDescending(c => c.Key))
        {
            if (height > ceilingHeight)
            {
                continue;
            }

            var kbps = curve.KbpsFor(quality) * (1 + margin);
            if (kbps < best.Kbps || best.Height == 0)
            {
                best = (height, kbps);
            }
        }

        return best;
    }
}
