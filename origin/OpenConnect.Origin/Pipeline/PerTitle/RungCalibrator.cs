using System.Diagnostics;
using System.Globalization;

namespace OpenConnect.Origin.Pipeline.PerTitle;

/// <summary>One real encode of the calibration: a rung's height and target rate, the SSIM it measured over the analysis windows and the kbit/s it really spent there.</summary>
public sealed record RungCheck(int Height, int Kbps, double Ssim, double SpentKbps);

/// <summary>What calibration did: the ladder it settled on, every encode it measured, its rounds and cost.</summary>
public sealed record RungCalibration(IReadOnlyList<PlannedRung> Rungs, IReadOnlyList<RungCheck> Checks, int Rounds, double WallSeconds);

/// <summary>
/// Checks a planned ladder with the encoder the pipeline really uses. Trials are CRF encodes; a
/// real rung is bitrate-targeted with a VBV cap and does not reach the same quality at the same
/// rate. So the fixed rungs and the planned rungs are encoded with <see cref="EncoderArguments.Video"/>
/// over the analysis windows and measured at the analysis' frame size; a planned rung below the
/// SSIM of the fixed rungs it serves (plus <see cref="SsimMargin"/>) is raised by <see cref="Step"/>
/// until it reaches it, or becomes the fixed rung once that is no dearer
/// (<see cref="PerTitleLadder.Raise"/>), for at most <see cref="MaxRounds"/> rounds; a rung still
/// short after them is replaced by its fixed rung. Each round is one encode run and one measuring
/// run per window, only for the rungs that changed. The source's bitrate caps a raise only where the
/// fixed rung's own encode really spends more than the source on the windows.
/// </summary>
public sealed class RungCalibrator(Ffmpeg ffmpeg, PipelineOptions options, ComplexityAnalyzer analyzer)
{
    /// <summary>Rate multiple of one raise step.</summary>
    public const double Step = 1.25;

    /// <summary>Rounds of raising before a rung that is still short falls back to its fixed rung.</summary>
    public const int MaxRounds = 6;

    /// <summary>SSIM a rung must exceed its fixed rungs' by on the windows, for the difference between windows and the whole title.</summary>
    public const double SsimMargin = 0.0005;

    public async Task<RungCalibration> CalibrateAsync(string sourceFile, SourceInfo source, ComplexityAnalysis analysis, IReadOnlyList<PlannedRung> planned, IReadOnlyList<FixedRung> fixedRungs, double? sourceKbps, PerTitleRules rules, string workDirectory, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfZero(planned.Count);
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(workDirectory);
        var fixedByHeight = fixedRungs.ToDictionary(r => r.Height);
        var measured = new Dictionary<(int Height, int Kbps), double>();
        var spent = new Dictionary<(int Height, int Kbps), double>();
        var rungs = planned.ToList();
        var rounds = 0;
        double Target(PlannedRung rung) => rung.Serves.Max(h => measured[(h, fixedByHeight[h].Kbps)]) + SsimMargin;
        var pending = fixedRungs.Select(r => (r.Height, r.Kbps)).Concat(rungs.Select(r => (r.Height, r.Kbps))).Distinct().ToList();
        while (pending.Count > 0 && rounds < MaxRounds)
        {
            rounds++;
            foreach (var (key, (ssim, kbps)) in await MeasureAsync(sourceFile, source, analysis, pending, workDirectory, cancellationToken))
            {
                measured[key] = ssim;
                spent[key] = kbps;
            }

            pending.Clear();
            for (var i = 0; i < rungs.Count; i++)
            {
                var rung = rungs[i];
                var own = fixedByHeight[rung.Serves.Max()];
                var target = Target(rung);
                var cap = PerTitleLadder.SourceCap(sourceKbps, spent[(own.Height, own.Kbps)]);
                var raised = PerTitleLadder.Raise(rung, measured[(rung.Height, rung.Kbps)], target, own, cap, Step);
                if (raised is null)
                {
                    continue;
                }

                rungs[i] = raised;
                if (!measured.ContainsKey((raised.Height, raised.Kbps)))
                {
                    pending.Add((raised.Height, raised.Kbps));
                }
            }

            pending = [.. pending.Distinct()];
        }

        for (var i = 0; i < rungs.Count; i++)
        {
            if (!measured.ContainsKey((rungs[i].Height, rungs[i].Kbps)))
            {
                // Out of rounds before this rate was measured: the fixed rung it serves is the safe choice.
                var own = fixedByHeight[rungs[i].Serves.Max()];
                rungs[i] = rungs[i] with { Height = own.Height, Kbps = own.Kbps };
            }
        }

        // Tidy merges by the targets measured here, not the ones the curves predicted.
        rungs = [.. rungs.Select(r => r with { PredictedSsim = Math.Round(measured[(r.Height, r.Kbps)], 6), TargetSsim = Target(r) })];
        var tidy = PerTitleLadder.Tidy(rungs, measured, rules);
        var checks = measured.Select(m => new RungCheck(m.Key.Height, m.Key.Kbps, Math.Round(m.Value, 6), Math.Round(spent[m.Key], 1))).OrderBy(c => c.Height).ThenBy(c => c.Kbps).ToList();
        return new RungCalibration(tidy, checks, rounds, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Frame-weighted SSIM over all windows of each (height, rate), encoded as the pipeline does, and the kbit/s the encodes really spent.</summary>
    private async Task<Dictionary<(int Height, int Kbps), (double Ssim, double Kbps)>> MeasureAsync(string sourceFile, SourceInfo source, ComplexityAnalysis analysis, List<(int Height, int Kbps)> encodes, string workDirectory, CancellationToken cancellationToken)
    {
        var format = MediaInputFormat.ForSourceFile(sourceFile);
        var rungs = encodes.Select(e =>
        {
            var (width, frameHeight) = Ladder.FrameSize(source.Width, source.Height, e.Height);
            return new Rung(string.Create(CultureInfo.InvariantCulture, $"{e.Height}p-{e.Kbps}k"), "h264", e.Height, width, frameHeight, e.Kbps);
        }).ToList();
        var sums = new (double Sum, int Frames)[rungs.Count];
        var bytes = new long[rungs.Count];
        var seconds = analysis.WindowSeconds;
        for (var w = 0; w < analysis.WindowStarts.Count; w++)
        {
            var start = analysis.WindowStarts[w];
            var files = rungs.Select(r => Path.Combine(workDirectory, string.Create(CultureInfo.InvariantCulture, $"check-{w}-{r.Name}.mp4"))).ToList();
            var outputs = new List<(string Output, string Arguments)>(rungs.Count);
            for (var i = 0; i < rungs.Count; i++)
            {
                var prefix = i == 0 ? $"-filter_complex \"{EncoderArguments.SplitScaleFilter(rungs)}\" " : "";
                outputs.Add((files[i], prefix + string.Create(CultureInfo.InvariantCulture, $"-t {seconds:0.###} -map \"[v{i}]\" -an -sn -dn -fps_mode passthrough {EncoderArguments.Video(rungs[i], source.FrameRate, options.SegmentSeconds, options)}")));
            }

            var input = string.Create(CultureInfo.InvariantCulture, $"-ss {start:0.###} -t {seconds:0.###}");
            await ffmpeg.RunAsync(sourceFile, format, input, outputs, workDirectory, TimeSpan.FromSeconds(seconds * rungs.Count), null, cancellationToken);
            var quality = await analyzer.MeasureAsync(sourceFile, format, start, seconds, files, analysis.MeasureWidth, analysis.MeasureHeight, workDirectory, cancellationToken);
            for (var i = 0; i < rungs.Count; i++)
            {
                sums[i] = (sums[i].Sum + quality[i].Ssim.Sum, sums[i].Frames + quality[i].Ssim.Frames);
                bytes[i] += new FileInfo(files[i]).Length;
                File.Delete(files[i]);
            }
        }

        var sampled = seconds * analysis.WindowStarts.Count;
        return encodes.Select((e, i) => (e, (sums[i].Sum / sums[i].Frames, bytes[i] * 8 / 1000.0 / sampled))).ToDictionary(x => x.e, x => x.Item2);
    }
}
