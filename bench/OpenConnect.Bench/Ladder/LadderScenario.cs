using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using OpenConnect.Origin.Pipeline;
using OpenConnect.Origin.Pipeline.PerTitle;

namespace OpenConnect.Bench.LadderBench;

/// <summary>
/// <c>bench ladder</c>: for each generated clip, the fixed ladder against the per-title ladder the
/// origin would choose (same encoder settings, whole clip encoded per rung), with bytes, bitrate,
/// SSIM and PSNR per rung measured at the top rung's frame size; then, per height, H.264 against
/// VP9 and AV1 at equal SSIM (bytes saved) and their encode time.
/// </summary>
public sealed class LadderScenario : IScenario
{
    public string Name => "ladder";

    public string Description => "per-title vs fixed ladder on a generated corpus (bytes, SSIM/PSNR per rung) and H.264 vs VP9/AV1 at equal quality";

    public string Usage => """
        bench ladder [--clips LIST] [--seconds N] [--height H] [--codecs LIST] [--codec-heights LIST] [--codec-seconds N] [--work DIR] [--keep]
          --clips LIST          clips to generate, default slides,talking,motion,grain
          --seconds N           clip length, default 8
          --height H            clip height (16:9), default 1080; both ladders go up to it
          --codecs LIST         codecs compared with H.264, default vp9,av1
          --codec-heights LIST  heights of the codec comparison, default 720,1080
          --codec-seconds N     first seconds of each clip used by the codec comparison (0 skips it), default 4
          --work DIR            working directory, default a new folder under the temp directory
          --keep                keep the working directory
        Quality: SSIM (and PSNR) of each rung upscaled bicubic to the top rung's frame size, against the
        source at that size, over the whole clip; "ok" when the per-title rung serving a fixed rung is at
        least as good. Goal: easy clips (slides, talking) >= 20 % fewer bytes with every rung ok, the
        hardest clip (highest trial bitrate) at most 5 % more.
        """;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var settings = LadderSettings.Parse(args);
        var work = settings.Work ?? Path.Combine(Path.GetTempPath(), $"openconnect-bench-ladder-{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        try
        {
            return await RunInAsync(settings, work, cancellationToken);
        }
        finally
        {
            if (!settings.Keep)
            {
                Directory.Delete(work, recursive: true);
            }
        }
    }

    private async Task<int> RunInAsync(LadderSettings settings, string work, CancellationToken cancellationToken)
    {
        var width = (int)Math.Round(settings.Height * 16 / 9.0 / 2) * 2;
        // The fixed and per-title ladders are compared in H.264; other codecs have their own rows.
        var options = new PipelineOptions { Codecs = ["h264"] };
        var ffmpeg = new Ffmpeg(new MediaToolSandbox(new MediaSandboxOptions(), NullLogger<MediaToolSandbox>.Instance), TimeSpan.FromHours(1));
        var analyzer = new ComplexityAnalyzer(ffmpeg, options);
        var clips = new List<ClipResult>();
        var codecRows = new List<CodecRow>();
        foreach (var name in settings.Clips)
        {
            var clip = LadderCorpus.Clip(name, width, settings.Height, settings.Seconds);
            var directory = Path.Combine(work, name);
            Directory.CreateDirectory(directory);
            var source = Path.Combine(directory, "source.mp4");
            Console.WriteLine($"{name}: generating {width}x{settings.Height} {settings.Seconds} s ({clip.Description}) …");
            await GenerateAsync(clip, source, cancellationToken);
            var info = new SourceInfo("mp4", settings.Seconds, width, settings.Height, "h264", 30, null);
            var heights = Ladder.CandidateHeights(width, settings.Height, options);

            var analysis = await analyzer.AnalyzeAsync(source, info, heights, Path.Combine(directory, "analysis"), cancellationToken);
            var fixedRungs = heights.Select(h => new FixedRung(h, options.BitrateKbpsFor(h))).ToList();
            var sourceKbps = new FileInfo(source).Length * 8 / 1000.0 / settings.Seconds;
            var rules = new PerTitleRules(RateMargin: options.PerTitleRateMargin);
            var chosen = PerTitleLadder.Choose(analysis.Curves(), fixedRungs, sourceKbps, rules);
            Console.WriteLine($"{name}: analysis {analysis.WallSeconds:F1} s ({analysis.Points.Count} trials over {analysis.WindowStarts.Count} x {analysis.WindowSeconds:0.#} s); from the curves {string.Join(", ", chosen.Select(p => $"{p.Height}p@{p.Kbps}k"))}");
            var calibration = await new RungCalibrator(ffmpeg, options, analyzer).CalibrateAsync(source, info, analysis, chosen, fixedRungs, sourceKbps, rules, Path.Combine(directory, "calibration"), cancellationToken);
            var planned = calibration.Rungs;
            Console.WriteLine($"{name}: calibration {calibration.WallSeconds:F1} s ({calibration.Rounds} rounds, {calibration.Checks.Count} encodes: {string.Join(", ", calibration.Checks.Select(c => $"{c.Height}p@{c.Kbps}k {c.Ssim:F5}"))}); per-title {string.Join(", ", planned.Select(p => $"{p.Height}p@{p.Kbps}k"))}");

            var fixedLadder = Ladder.For(width, settings.Height, options);
            var perTitleLadder = Ladder.FromPlan(width, settings.Height, options, planned);
            var fixedMeasured = await EncodeAndMeasureAsync(ffmpeg, analyzer, source, fixedLadder, settings.Seconds, analysis, Path.Combine(directory, "fixed"), options, cancellationToken);
            var perTitleMeasured = await EncodeAndMeasureAsync(ffmpeg, analyzer, source, perTitleLadder, settings.Seconds, analysis, Path.Combine(directory, "per-title"), options, cancellationToken);
            var complexity = analysis.Points.Where(p => p.Height == heights.Max() && p.Kbps > 0).OrderBy(p => p.Kbps).ElementAt(1).Kbps;
            clips.Add(new ClipResult(name, clip.Easy, complexity, analysis, calibration, planned, fixedMeasured, perTitleMeasured));

            if (settings.CodecSeconds > 0)
            {
                foreach (var height in settings.CodecHeights.Where(heights.Contains))
                {
                    codecRows.AddRange(await CompareCodecsAsync(ffmpeg, analyzer, name, source, width, settings.Height, height, settings, options, Path.Combine(directory, $"codecs-{height}"), cancellationToken));
                }
            }

            File.Delete(source);
        }

        return Report(settings, clips, codecRows, options);
    }

    private int Report(LadderSettings settings, List<ClipResult> clips, List<CodecRow> codecRows, PipelineOptions options)
    {
        var hardest = clips.MaxBy(c => c.Complexity)!;
        var summary = new List<object>();
        var goal = true;
        foreach (var clip in clips)
        {
            Console.WriteLine();
            Console.WriteLine($"{clip.Name} (trial kbit/s at CRF {ComplexityAnalyzer.TrialCrfs[1]}, top height: {clip.Complexity:F0}; analysis {clip.Analysis.WallSeconds:F1} s + calibration {clip.Calibration.WallSeconds:F1} s, {clip.Calibration.Rounds} rounds)");
            var table = new Table("fixed rung", "kbit/s", "bytes", "SSIM", "PSNR", "per-title rung", "kbit/s", "bytes", "SSIM", "PSNR", "ok");
            var rows = new List<object>();
            var allOk = true;
            foreach (var f in clip.Fixed)
            {
                var plannedRung = clip.Planned.First(p => p.Serves.Contains(f.Rung.Height));
                var p = clip.PerTitle.First(r => r.Rung.Height == plannedRung.Height && r.Rung.BitrateKbps == plannedRung.Kbps);
                // The same height at the same target bitrate is the same encode: x264's frame threads make
                // two runs of it differ in the last bytes, which is not a quality difference.
                var same = p.Rung.Height == f.Rung.Height && p.Rung.BitrateKbps == f.Rung.BitrateKbps;
                var ok = same || p.Ssim >= f.Ssim;
                allOk &= ok;
                table.Add(f.Rung.Name, Kbps(f.Kbps), f.Bytes, Ssim(f.Ssim), Psnr(f.Psnr), $"{p.Rung.Name} ({p.Rung.BitrateKbps}k)", Kbps(p.Kbps), p.Bytes, Ssim(p.Ssim), Psnr(p.Psnr), same ? "same rung" : ok ? "yes" : "NO");
                rows.Add(new { @fixed = f.Rung.Name, fixed_target_kbps = f.Rung.BitrateKbps, fixed_kbps = Math.Round(f.Kbps, 1), fixed_bytes = f.Bytes, fixed_ssim = Math.Round(f.Ssim, 5), fixed_psnr = Math.Round(f.Psnr, 2), per_title = p.Rung.Name, per_title_target_kbps = p.Rung.BitrateKbps, per_title_kbps = Math.Round(p.Kbps, 1), per_title_ssim = Math.Round(p.Ssim, 5), per_title_psnr = Math.Round(p.Psnr, 2), quality_ok = ok, same_rung = same });
            }

            Console.Write(table);
            var fixedBytes = clip.Fixed.Sum(r => r.Bytes);
            var perTitleBytes = clip.PerTitle.Sum(r => r.Bytes);
            var ratio = (double)perTitleBytes / fixedBytes;
            // Easy clips must save 20 % at equal or better quality per rung; the others (the hardest among
            // them) may cost at most 5 % more.
            var clipGoal = clip.Easy ? ratio <= 0.80 && allOk : ratio <= 1.05;
            goal &= clipGoal;
            Console.WriteLine($"{clip.Name}: total bytes fixed {fixedBytes}, per-title {perTitleBytes}, ratio {ratio:F3}; every rung at equal or better SSIM: {(allOk ? "yes" : "NO")}; goal ({(clip.Easy ? "<= 0.80 and all ok" : "<= 1.05")}): {(clipGoal ? "met" : "NOT met")}");
            summary.Add(new { clip = clip.Name, easy = clip.Easy, hardest = clip == hardest, complexity_kbps = Math.Round(clip.Complexity), analysis_s = Math.Round(clip.Analysis.WallSeconds, 2), calibration_s = Math.Round(clip.Calibration.WallSeconds, 2), calibration_rounds = clip.Calibration.Rounds, calibration_checks = clip.Calibration.Checks, fixed_bytes = fixedBytes, per_title_bytes = perTitleBytes, bytes_ratio = Math.Round(ratio, 4), all_rungs_quality_ok = allOk, goal_met = clipGoal, rungs = rows });
        }

        var codecBytes = new Dictionary<string, Dictionary<string, Dictionary<string, double?>>>();
        var codecTime = new Dictionary<string, Dictionary<string, Dictionary<string, double>>>();
        if (codecRows.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine($"codecs at equal SSIM (at the rung's own size) to H.264 at the fixed bitrate, first {settings.CodecSeconds} s; x264 {options.X264Preset}, libvpx-vp9 cpu-used {options.Vp9CpuUsed}, SVT-AV1 preset {options.SvtAv1Preset}");
            var table = new Table("clip", "height", "codec", "H.264 kbit/s", "H.264 SSIM", "codec kbit/s at equal SSIM", "bytes ratio", "encode time ratio");
            foreach (var row in codecRows)
            {
                table.Add(row.Clip, row.Height, row.Codec, Math.Round(row.H264Kbps, 1), Math.Round(row.H264Ssim, 5), row.EqualKbps is { } k ? Math.Round(k, 1).ToString(CultureInfo.InvariantCulture) : "not reached", row.BytesRatio is { } b ? Math.Round(b, 3).ToString(CultureInfo.InvariantCulture) : "> 1", Math.Round(row.TimeRatio, 2));
                Add(codecBytes, row.Codec, row.Clip, row.Height.ToString(CultureInfo.InvariantCulture), row.BytesRatio is { } r ? Math.Round(r, 3) : null);
                Add(codecTime, row.Codec, row.Clip, row.Height.ToString(CultureInfo.InvariantCulture), Math.Round(row.TimeRatio, 3));
            }

            Console.Write(table);
        }

        Console.WriteLine($"goal (easy clips >= 20 % fewer bytes at equal or better SSIM per rung, hardest <= 5 % more): {(goal ? "met" : "NOT met")}");
        Summary.WriteJsonLine(new
        {
            scenario = Name,
            seconds = settings.Seconds,
            height = settings.Height,
            processor_count = Environment.ProcessorCount,
            x264_preset = options.X264Preset,
            trial_crfs = ComplexityAnalyzer.TrialCrfs,
            windows = options.PerTitleSampleWindows,
            window_seconds = options.PerTitleWindowSeconds,
            rate_margin = options.PerTitleRateMargin,
            bytes_ratio = clips.ToDictionary(c => c.Name, c => Math.Round((double)c.PerTitle.Sum(r => r.Bytes) / c.Fixed.Sum(r => r.Bytes), 4)),
            analysis_s = clips.ToDictionary(c => c.Name, c => Math.Round(c.Analysis.WallSeconds, 2)),
            calibration_s = clips.ToDictionary(c => c.Name, c => Math.Round(c.Calibration.WallSeconds, 2)),
            codec_bytes_ratio = codecBytes,
            codec_time_ratio = codecTime,
            clips = summary,
            goal_met = goal,
        });
        return 0;
    }

    private static void Add<T>(Dictionary<string, Dictionary<string, Dictionary<string, T>>> into, string a, string b, string c, T value)
    {
        if (!into.TryGetValue(a, out var byClip))
        {
            into[a] = byClip = [];
        }

        if (!byClip.TryGetValue(b, out var byHeight))
        {
            byClip[b] = byHeight = [];
        }

        byHeight[c] = value;
    }

    private sealed record MeasuredRung(Rung Rung, long Bytes, double Kbps, double Ssim, double Psnr, double EncodeSeconds);

    private sealed record ClipResult(string Name, bool Easy, double Complexity, ComplexityAnalysis Analysis, RungCalibration Calibration, IReadOnlyList<PlannedRung> Planned, IReadOnlyList<MeasuredRung> Fixed, IReadOnlyList<MeasuredRung> PerTitle);

    private sealed record CodecRow(string Clip, int Height, string Codec, double H264Kbps, double H264Ssim, double? EqualKbps, double? BytesRatio, double TimeRatio);

    /// <summary>Every rung of a ladder over the whole clip in one ffmpeg run (as a pipeline chunk job does), then all measured in one run.</summary>
    private static async Task<IReadOnlyList<MeasuredRung>> EncodeAndMeasureAsync(Ffmpeg ffmpeg, ComplexityAnalyzer analyzer, string source, IReadOnlyList<Rung> rungs, int seconds, ComplexityAnalysis analysis, string directory, PipelineOptions options, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var files = rungs.Select(r => Path.Combine(directory, r.Name + ".mp4")).ToList();
        var outputs = new List<(string, string)>();
        for (var i = 0; i < rungs.Count; i++)
        {
            var prefix = i == 0 ? $"-filter_complex \"{EncoderArguments.SplitScaleFilter(rungs)}\" " : "";
            outputs.Add((files[i], prefix + $"-map \"[v{i}]\" -an -sn -dn -fps_mode passthrough {EncoderArguments.Video(rungs[i], 30, options.SegmentSeconds, options)}"));
        }

        var clock = Stopwatch.StartNew();
        await ffmpeg.RunAsync(source, MediaInputFormat.Mov, "", outputs, directory, TimeSpan.FromSeconds(seconds * rungs.Count), null, cancellationToken);
        var encodeSeconds = clock.Elapsed.TotalSeconds;
        var measured = await analyzer.MeasureAsync(source, MediaInputFormat.Mov, 0, seconds, files, analysis.MeasureWidth, analysis.MeasureHeight, directory, cancellationToken);
        return [.. rungs.Select((r, i) =>
        {
            var bytes = new FileInfo(files[i]).Length;
            return new MeasuredRung(r, bytes, bytes * 8 / 1000.0 / seconds, measured[i].Ssim.Sum / measured[i].Ssim.Frames, QualityStats.PsnrFromMse(measured[i].Mse.Sum / measured[i].Mse.Frames), encodeSeconds);
        })];
    }

    /// <summary>Bitrate multiples of the fixed H.264 rate at which the other codecs are encoded; their SSIM curve gives the rate at H.264's SSIM.</summary>
    private static string Kbps(double kbps) => kbps.ToString("F1", CultureInfo.InvariantCulture);

    private static string Ssim(double ssim) => ssim.ToString("F5", CultureInfo.InvariantCulture);

    private static string Psnr(double psnr) => psnr.ToString("F2", CultureInfo.InvariantCulture);

    private static readonly double[] CodecRateFactors = [0.3, 0.55, 1.0];

    private static async Task<IReadOnlyList<CodecRow>> CompareCodecsAsync(Ffmpeg ffmpeg, ComplexityAnalyzer analyzer, string clip, string source, int width, int sourceHeight, int height, LadderSettings settings, PipelineOptions options, string directory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var (frameWidth, frameHeight) = Ladder.FrameSize(width, sourceHeight, height);
        var baseKbps = options.BitrateKbpsFor(height);
        var seconds = settings.CodecSeconds;
        var h264 = new Rung($"{height}p", "h264", height, frameWidth, frameHeight, baseKbps);
        var h264Run = await EncodeOneAsync(ffmpeg, source, h264, seconds, directory, options, cancellationToken);
        var rows = new List<CodecRow>();
        var encodes = new List<(string Codec, Rung Rung, string File, double Seconds)> { ("h264", h264, h264Run.File, h264Run.Seconds) };
        foreach (var codec in settings.Codecs)
        {
            foreach (var factor in CodecRateFactors)
            {
                var rung = new Rung(string.Create(CultureInfo.InvariantCulture, $"{height}p-{codec}-{factor:0.00}"), codec, height, frameWidth, frameHeight, Math.Max(20, (int)Math.Round(baseKbps * factor)));
                var run = await EncodeOneAsync(ffmpeg, source, rung, seconds, directory, options, cancellationToken);
                encodes.Add((codec, rung, run.File, run.Seconds));
            }
        }

        Console.WriteLine($"{clip}: codecs at {height}p encoded ({string.Join(", ", encodes.Select(e => $"{e.Rung.Name} {e.Seconds:F1} s"))}); measuring …");
        var measured = await analyzer.MeasureAsync(source, MediaInputFormat.Mov, 0, seconds, encodes.Select(e => e.File).ToList(), frameWidth, frameHeight, directory, cancellationToken);
        double Kbps(int i) => new FileInfo(encodes[i].File).Length * 8 / 1000.0 / seconds;
        double Ssim(int i) => measured[i].Ssim.Sum / measured[i].Ssim.Frames;
        var h264Kbps = Kbps(0);
        var h264Ssim = Ssim(0);
        foreach (var codec in settings.Codecs)
        {
            var indices = Enumerable.Range(0, encodes.Count).Where(i => encodes[i].Codec == codec).ToList();
            var curve = RateQualityCurve.From(indices.Select(i => new RateQualityPoint(height, Kbps(i), Ssim(i), 0)));
            // Better than H.264 already at its cheapest trial: that trial's rate is the (upper-bound) answer, not an extrapolation.
            var cheapest = indices.Min(Kbps);
            var equal = indices.All(i => Ssim(i) >= h264Ssim) ? cheapest : curve.KbpsFor(h264Ssim);
            double? equalKbps = double.IsFinite(equal) ? equal : null;
            var time = indices.Average(i => encodes[i].Seconds) / encodes[0].Seconds;
            rows.Add(new CodecRow(clip, height, codec, h264Kbps, h264Ssim, equalKbps, equalKbps / h264Kbps, time));
        }

        return rows;
    }

    private static async Task<(string File, double Seconds)> EncodeOneAsync(Ffmpeg ffmpeg, string source, Rung rung, int seconds, string directory, PipelineOptions options, CancellationToken cancellationToken)
    {
        var file = Path.Combine(directory, rung.Name + ".mp4");
        var clock = Stopwatch.StartNew();
        await ffmpeg.RunAsync(source, MediaInputFormat.Mov, "", file, string.Create(CultureInfo.InvariantCulture, $"-t {seconds} -vf \"{EncoderArguments.ScaleFilter(rung)}\" -an -sn -dn {EncoderArguments.Video(rung, 30, options.SegmentSeconds, options)}"), directory, TimeSpan.FromSeconds(seconds), null, cancellationToken);
        return (file, clock.Elapsed.TotalSeconds);
    }

    private static async Task GenerateAsync(CorpusClip clip, string output, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("ffmpeg", "-hide_banner -nostdin -loglevel error " + LadderCorpus.GenerateArguments(clip, output))
        {
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start ffmpeg");
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"generating {clip.Name} failed: {await errors}");
        }
    }
}
