using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace OpenConnect.Origin.Pipeline.PerTitle;

/// <summary>What the analysis measured: the trial points, where it sampled, and what it cost.</summary>
public sealed record ComplexityAnalysis(IReadOnlyList<RateQualityPoint> Points, IReadOnlyList<double> WindowStarts, double WindowSeconds, int MeasureWidth, int MeasureHeight, double WallSeconds)
{
    /// <summary>One curve per height.</summary>
    public IReadOnlyDictionary<int, RateQualityCurve> Curves() =>
        Points.GroupBy(p => p.Height).ToDictionary(g => g.Key, g => RateQualityCurve.From(g));
}

/// <summary>
/// Measures how hard a title is to encode: a few short windows spread over the source are encoded
/// at every candidate height with x264 at <see cref="TrialCrfs"/> (the pipeline's preset and GOP),
/// and each trial's SSIM and PSNR are measured against the source, both at the top candidate's
/// frame size (trials upscaled bicubic). One ffmpeg run per window encodes all trials from one
/// decode, a second measures them all; both go through the sandbox like every run over uploaded
/// bytes. The cost is bounded by the sampled length (windows × seconds), not the title's.
/// </summary>
public sealed class ComplexityAnalyzer(Ffmpeg ffmpeg, PipelineOptions options)
{
    /// <summary>Constant rate factors of the trials: from near-transparent to well below the fixed ladder's quality, so its rates fall inside the curves.</summary>
    public static readonly IReadOnlyList<int> TrialCrfs = [12, 19, 26, 33];

    /// <summary>Where the windows start: evenly spread, or back to back from 0 when the title is shorter than them all.</summary>
    public static IReadOnlyList<double> WindowStarts(double duration, int windows, double seconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(duration);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(windows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seconds);
        if (duration <= windows * seconds)
        {
            var count = Math.Max(1, (int)Math.Floor(duration / seconds));
            return [.. Enumerable.Range(0, count).Select(i => i * seconds)];
        }

        return [.. Enumerable.Range(0, windows).Select(i => Math.Round(Math.Max(0, ((i + 0.5) * duration / windows) - (seconds / 2)), 3))];
    }

    public async Task<ComplexityAnalysis> AnalyzeAsync(string sourceFile, SourceInfo source, IReadOnlyList<int> heights, string workDirectory, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfZero(heights.Count);
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(workDirectory);
        var format = MediaInputFormat.ForSourceFile(sourceFile);
        var seconds = Math.Min(options.PerTitleWindowSeconds, source.DurationSeconds);
        var starts = WindowStarts(source.DurationSeconds, options.PerTitleSampleWindows, seconds);
        var top = heights.Max();
        var (measureWidth, measureHeight) = Ladder.FrameSize(source.Width, source.Height, top);
        var trials = heights.SelectMany(h => TrialCrfs.Select(crf => (Height: h, Crf: crf))).ToList();
        var bytes = new long[trials.Count];
        var ssim = new (double Sum, int Frames)[trials.Count];
        var mse = new (double Sum, int Frames)[trials.Count];
        for (var w = 0; w < starts.Count; w++)
        {
            var files = trials.Select(t => Path.Combine(workDirectory, string.Create(CultureInfo.InvariantCulture, $"trial-{w}-{t.Height}-{t.Crf}.mp4"))).ToList();
            await EncodeWindowAsync(sourceFile, format, source, heights, starts[w], seconds, trials, files, workDirectory, cancellationToken);
            var measured = await MeasureAsync(sourceFile, format, starts[w], seconds, files, measureWidth, measureHeight, workDirectory, cancellationToken);
            for (var i = 0; i < trials.Count; i++)
            {
                bytes[i] += new FileInfo(files[i]).Length;
                var (s, m) = measured[i];
                ssim[i] = (ssim[i].Sum + s.Sum, ssim[i].Frames + s.Frames);
                mse[i] = (mse[i].Sum + m.Sum, mse[i].Frames + m.Frames);
                File.Delete(files[i]);
            }
        }

        var sampled = seconds * starts.Count;
        var points = trials.Select((t, i) => new RateQualityPoint(
            t.Height,
            Math.Round(bytes[i] * 8 / 1000.0 / sampled, 1),
            Math.Round(ssim[i].Sum / ssim[i].Frames, 6),
            Math.Round(QualityStats.PsnrFromMse(mse[i].Sum / mse[i].Frames), 3))).ToList();
        return new ComplexityAnalysis(points, starts, seconds, measureWidth, measureHeight, clock.Elapsed.TotalSeconds);
    }

    private static string StatsName(string metric, int trial) => string.Create(CultureInfo.InvariantCulture, $"{metric}-{trial}.log");

    /// <summary>One decode of the window, split to every height, each split again to every rate factor.</summary>
    private async Task EncodeWindowAsync(string sourceFile, MediaInputFormat format, SourceInfo source, IReadOnlyList<int> heights, double start, double seconds, List<(int Height, int Crf)> trials, List<string> files, string workDirectory, CancellationToken cancellationToken)
    {
        var graph = new StringBuilder();
        graph.Append(CultureInfo.InvariantCulture, $"[0:v:0]split={heights.Count}");
        for (var h = 0; h < heights.Count; h++)
        {
            graph.Append(CultureInfo.InvariantCulture, $"[h{h}]");
        }

        for (var h = 0; h < heights.Count; h++)
        {
            var (width, frameHeight) = Ladder.FrameSize(source.Width, source.Height, heights[h]);
            graph.Append(CultureInfo.InvariantCulture, $";[h{h}]scale={width}:{frameHeight}:flags=bicubic,setsar=1,split={TrialCrfs.Count}");
            for (var c = 0; c < TrialCrfs.Count; c++)
            {
                graph.Append(CultureInfo.InvariantCulture, $"[t{heights[h]}_{TrialCrfs[c]}]");
            }
        }

        var outputs = new List<(string Output, string Arguments)>(trials.Count);
        for (var i = 0; i < trials.Count; i++)
        {
            var prefix = i == 0 ? $"-filter_complex \"{graph}\" " : "";
            outputs.Add((files[i], prefix + string.Create(CultureInfo.InvariantCulture, $"-t {seconds:0.###} -map \"[t{trials[i].Height}_{trials[i].Crf}]\" -an -sn -dn -fps_mode passthrough {EncoderArguments.TrialVideo(trials[i].Crf, source.FrameRate, options.SegmentSeconds, options)}")));
        }

        var input = string.Create(CultureInfo.InvariantCulture, $"-ss {start:0.###} -t {seconds:0.###}");
        await ffmpeg.RunAsync(sourceFile, format, input, outputs, workDirectory, TimeSpan.FromSeconds(seconds * trials.Count), null, cancellationToken);
    }

    /// <summary>
    /// SSIM and MSE of encodes of one window of the source, all at <paramref name="width"/> x
    /// <paramref name="height"/>: the window of the source (input 0) and every encode (inputs 1…) are
    /// scaled to that size; each encode goes through <c>ssim</c> then <c>psnr</c> against its own copy of the reference,
    /// which write per-frame statistics files.
    /// </summary>
    /// <returns>Per file, the sums and frame counts of its per-frame SSIM and MSE.</returns>
    public async Task<IReadOnlyList<((double Sum, int Frames) Ssim, (double Sum, int Frames) Mse)>> MeasureAsync(string sourceFile, MediaInputFormat format, double start, double seconds, IReadOnlyList<string> files, int width, int height, string workDirectory, CancellationToken cancellationToken)
    {
        var scale = string.Create(CultureInfo.InvariantCulture, $"scale={width}:{height}:flags=bicubic,setsar=1,format=yuv420p,setpts=PTS-STARTPTS");
        var extraInputs = new StringBuilder();
        foreach (var file in files)
        {
            extraInputs.Append(CultureInfo.InvariantCulture, $"{MediaInputFormat.Intermediate.Arguments} -i {Ffmpeg.Quote(MediaInputFormat.InputUrl(file))} ");
        }

        var graph = new StringBuilder();
        graph.Append(CultureInfo.InvariantCulture, $"[0:v:0]{scale},split={files.Count * 2}");
        for (var i = 0; i < files.Count * 2; i++)
        {
            graph.Append(CultureInfo.InvariantCulture, $"[r{i}]");
        }

        var maps = new StringBuilder();
        for (var i = 0; i < files.Count; i++)
        {
            graph.Append(CultureInfo.InvariantCulture, $";[{i + 1}:v:0]{scale}[d{i}];[d{i}][r{2 * i}]ssim=stats_file={StatsName("ssim", i)}[m{i}];[m{i}][r{(2 * i) + 1}]psnr=stats_file={StatsName("psnr", i)}[q{i}]");
            maps.Append(CultureInfo.InvariantCulture, $"-map \"[q{i}]\" ");
        }

        var input = string.Create(CultureInfo.InvariantCulture, $"-ss {start:0.###} -t {seconds:0.###}");
        var output = $"{extraInputs}-filter_complex \"{graph}\" {maps}-f null";
        await ffmpeg.RunAsync(sourceFile, format, input, "-", output, workDirectory, TimeSpan.FromSeconds(seconds * files.Count), null, cancellationToken);
        var results = new List<((double, int), (double, int))>(files.Count);
        for (var i = 0; i < files.Count; i++)
        {
            var ssimPath = Path.Combine(workDirectory, StatsName("ssim", i));
            var psnrPath = Path.Combine(workDirectory, StatsName("psnr", i));
            var s = QualityStats.SsimFrames(await File.ReadAllTextAsync(ssimPath, cancellationToken));
            var m = QualityStats.MseFrames(await File.ReadAllTextAsync(psnrPath, cancellationToken));
            File.Delete(ssimPath);
            File.Delete(psnrPath);
            if (s.Frames == 0 || m.Frames == 0)
            {
                throw new InvalidDataException("the quality measurement produced no frames");
            }

            results.Add((s, m));
        }

        return results;
    }
}
