using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Origin;
using OpenConnect.Origin.Pipeline;

namespace OpenConnect.Bench.Transcode;

/// <summary>
/// <c>bench transcode</c>: the origin's chunked pipeline against one plain ffmpeg command that
/// decodes once and <c>split</c>s into the same rungs with the same encoder settings (preset,
/// bitrates, GOP) and packages them with ffmpeg's DASH muxer. Reports wall time, x realtime, SSIM
/// per rung against the source for both, and the speedup chunk parallelism gives.
/// </summary>
public sealed partial class TranscodeScenario : IScenario
{
    public string Name => "transcode";

    public string Description => "origin pipeline (chunked, parallel) vs one ffmpeg split command: wall time, x realtime, SSIM per rung";

    public string Usage => """
        bench transcode [--seconds N] [--height H] [--cpus LIST] [--work DIR] [--keep]
                        [--workers N [--store s3|local] [--worker-slots S]]
          --seconds N   length of the generated source (testsrc2 with motion + sine), default 60
          --height H    source height (16:9), default 1080; the ladder goes up to it
          --cpus LIST   CPUs both sides are pinned to (taskset -c / process affinity), default all
          --work DIR    working directory, default a new folder under the temp directory
          --keep        keep the working directory
          --workers N   instead: N worker processes (Origin:Role=worker) against one PostgreSQL
                        (scripts/postgres.sh, stopped at the end) and one object store, beside one
                        worker and the single ffmpeg command
          --store KIND  s3 (default: s3rver; each worker has its own data directory, the source and
                        chunks go through the bucket) or local (workers share the data directory)
          --worker-slots S  Pipeline:MaxParallelEncodes of each worker, default 1
        Runs: our pipeline with Origin:Pipeline:MaxParallelEncodes at its default (processor count)
        and at 1, and the single ffmpeg command, one after the other on the same CPUs.
        """;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var seconds = 60;
        var height = 1080;
        string? cpus = null;
        string? work = null;
        var keep = false;
        WorkerRuns? workers = null;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--seconds": seconds = ParseInt(args, ++i, 4, 3600); break;
                case "--height": height = ParseInt(args, ++i, 144, 2160); break;
                case "--cpus": cpus = Value(args, ++i); break;
                case "--work": work = Value(args, ++i); break;
                case "--keep": keep = true; break;
                case "--workers": workers = (workers ?? new WorkerRuns(1, true, 1)) with { Count = ParseInt(args, ++i, 1, 64) }; break;
                case "--store": workers = (workers ?? new WorkerRuns(1, true, 1)) with { S3 = ParseStore(Value(args, ++i)) }; break;
                case "--worker-slots": workers = (workers ?? new WorkerRuns(1, true, 1)) with { Slots = ParseInt(args, ++i, 1, 64) }; break;
                default: throw new BenchUsageException($"unknown option '{args[i]}'");
            }
        }

        work ??= Path.Combine(Path.GetTempPath(), $"openconnect-bench-transcode-{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        if (cpus is not null && (OperatingSystem.IsLinux() || OperatingSystem.IsWindows()))
        {
            Process.GetCurrentProcess().ProcessorAffinity = CpuMask(cpus);
        }

        try
        {
            return workers is null
                ? await RunInAsync(work, seconds, height, cpus, cancellationToken)
                : await RunWorkersAsync(work, seconds, height, cpus, workers, cancellationToken);
        }
        finally
        {
            if (!keep)
            {
                Directory.Delete(work, recursive: true);
            }
        }
    }

    /// <summary>The generated source: testsrc2 with motion and a sine tone, x264 crf 16; returns its path and width.</summary>
    private static async Task<(string Path, int Width)> GenerateSourceAsync(string work, int seconds, int height, string? cpus, CancellationToken cancellationToken)
    {
        var width = (int)Math.Round(height * 16 / 9.0 / 2) * 2;
        var source = Path.Combine(work, "source.mp4");
        Console.WriteLine($"generating a {seconds} s {width}x{height} source (testsrc2 + sine, x264 crf 16) …");
        await RunFfmpegAsync(
            $"-f lavfi -i testsrc2=size={width}x{height}:rate=30:duration={seconds} -f lavfi -i sine=frequency=440:sample_rate=48000:duration={seconds} -c:v libx264 -preset ultrafast -crf 16 -pix_fmt yuv420p -g 60 -c:a aac -b:a 192k -ac 2 -shortest -y {Quote(source)}",
            cpus,
            cancellationToken);
        return (source, width);
    }

    private async Task<int> RunInAsync(string work, int seconds, int height, string? cpus, CancellationToken cancellationToken)
    {
        var (source, width) = await GenerateSourceAsync(work, seconds, height, cpus, cancellationToken);

        var options = new PipelineOptions();
        var rungs = Ladder.For(width, height, options);
        var cores = Environment.ProcessorCount;
        Console.WriteLine($"ladder: {string.Join(", ", rungs.Select(r => $"{r.Name} {r.Width}x{r.FrameHeight} {r.BitrateKbps}k"))}; x264 preset {options.X264Preset}, {options.SegmentSeconds} s segments, {options.ChunkSeconds} s chunks; {cores} CPUs{(cpus is null ? "" : $" ({cpus})")}");

        var ours = await RunPipelineAsync(work, "ours", source, options.MaxParallelEncodes, cancellationToken);
        var serial = await RunPipelineAsync(work, "ours-serial", source, 1, cancellationToken);
        var single = await RunSingleCommandAsync(work, source, rungs, options, cpus, cancellationToken);

        Console.WriteLine("measuring SSIM against the source scaled to each rung …");
        var table = new Table("rung", "size", "kbit/s", "SSIM ours", "SSIM single", "ours kbit/s", "single kbit/s");
        var perRung = new List<object>();
        var deltas = new List<double>();
        for (var i = 0; i < rungs.Count; i++)
        {
            var rung = rungs[i];
            var ourFile = Concatenate(Path.Combine(ours.Published, rung.Name), "init.mp4", "seg-*.m4s", Path.Combine(work, $"ours-{rung.Name}.mp4"));
            var singleFile = Concatenate(single.Directory, $"init-stream{i}.m4s", $"chunk-stream{i}-*.m4s", Path.Combine(work, $"single-{rung.Name}.mp4"));
            var ssimOurs = await SsimAsync(ourFile, source, rung, cpus, cancellationToken);
            var ssimSingle = await SsimAsync(singleFile, source, rung, cpus, cancellationToken);
            var ourRate = new FileInfo(ourFile).Length * 8 / 1000.0 / seconds;
            var singleRate = new FileInfo(singleFile).Length * 8 / 1000.0 / seconds;
            deltas.Add(ssimOurs - ssimSingle);
            table.Add(rung.Name, $"{rung.Width}x{rung.FrameHeight}", rung.BitrateKbps, ssimOurs, ssimSingle, Math.Round(ourRate, 1), Math.Round(singleRate, 1));
            perRung.Add(new { rung = rung.Name, width = rung.Width, height = rung.FrameHeight, target_kbps = rung.BitrateKbps, ssim_ours = Math.Round(ssimOurs, 5), ssim_single = Math.Round(ssimSingle, 5), kbps_ours = Math.Round(ourRate, 1), kbps_single = Math.Round(singleRate, 1) });
        }

        Console.WriteLine();
        var times = new Table("run", "wall s", "x realtime", "notes");
        times.Add("single ffmpeg command (split, dash muxer)", Math.Round(single.Wall, 2), Math.Round(seconds / single.Wall, 3), "decode once, encode all rungs, package");
        times.Add($"ours, transcode to package (MaxParallelEncodes={options.MaxParallelEncodes})", Math.Round(ours.TranscodeToPackage, 2), Math.Round(seconds / ours.TranscodeToPackage, 3), "audio, chunk, encode, concat, package steps");
        times.Add("ours, end to end", Math.Round(ours.EndToEnd, 2), Math.Round(seconds / ours.EndToEnd, 3), "plus probe, thumbnails, integrity, publish");
        times.Add("ours, transcode to package (MaxParallelEncodes=1)", Math.Round(serial.TranscodeToPackage, 2), Math.Round(seconds / serial.TranscodeToPackage, 3), "chunks one at a time");
        Console.Write(times);
        Console.WriteLine();
        Console.Write(table);
        var ratio = single.Wall / ours.TranscodeToPackage;
        var minDelta = deltas.Count == 0 ? 0 : deltas.Min();
        var goal = ratio >= 1.0 && minDelta > -0.005;
        Console.WriteLine($"single command / ours (transcode to package) = {ratio:F3}; chunk parallelism speedup {serial.TranscodeToPackage / ours.TranscodeToPackage:F3}x; goal (no slower at equal SSIM within 0.005): {(goal ? "met" : "NOT met")}");
        Summary.WriteJsonLine(new
        {
            scenario = Name,
            source_seconds = seconds,
            source = $"{width}x{height}",
            cpus = cpus ?? "all",
            processor_count = cores,
            preset = options.X264Preset,
            segment_seconds = options.SegmentSeconds,
            chunk_seconds = options.ChunkSeconds,
            max_parallel_encodes = options.MaxParallelEncodes,
            single_command_wall_s = Math.Round(single.Wall, 3),
            ours_transcode_to_package_wall_s = Math.Round(ours.TranscodeToPackage, 3),
            ours_end_to_end_wall_s = Math.Round(ours.EndToEnd, 3),
            ours_serial_transcode_to_package_wall_s = Math.Round(serial.TranscodeToPackage, 3),
            single_command_x_realtime = Math.Round(seconds / single.Wall, 3),
            ours_x_realtime = Math.Round(seconds / ours.TranscodeToPackage, 3),
            single_command_over_ours_ratio = Math.Round(ratio, 3),
            single_command_over_ours_end_to_end_ratio = Math.Round(single.Wall / ours.EndToEnd, 3),
            chunk_parallelism_speedup_ratio = Math.Round(serial.TranscodeToPackage / ours.TranscodeToPackage, 3),
            rungs = perRung,
            goal_met = goal,
        });
        return 0;
    }

    private sealed record PipelineRun(string Published, double TranscodeToPackage, double EndToEnd);

    private sealed record SingleRun(string Directory, double Wall);

    private static async Task<PipelineRun> RunPipelineAsync(string work, string label, string source, int parallel, CancellationToken cancellationToken)
    {
        var data = Path.Combine(work, label);
        Directory.CreateDirectory(Path.Combine(data, "uploads"));
        var upload = Path.Combine(data, "uploads", "source.mp4");
        File.Copy(source, upload);
        Console.WriteLine($"{label}: our pipeline, MaxParallelEncodes={parallel} …");
        var app = OriginHost.Build(["--urls", "http://127.0.0.1:0", "--Management:Url=http://127.0.0.1:0", $"--Origin:DataDirectory={data}", $"--Origin:Pipeline:MaxParallelEncodes={parallel}", "--Origin:Pipeline:Ladder=fixed", "--Logging:LogLevel:Default=Warning"]);
        await app.StartAsync(cancellationToken);
        try
        {
            var (titleId, transcodeToPackage, endToEnd) = await PublishAsync(app, label, upload, cancellationToken);
            return new PipelineRun(Path.Combine(data, "published", titleId), transcodeToPackage, endToEnd);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
        }
    }

    /// <summary>
    /// Submits <paramref name="upload"/> to a started origin and waits for it to be published; returns
    /// the title and its wall times: audio step start to package step end, and submission to published.
    /// </summary>
    private static async Task<(string TitleId, double TranscodeToPackage, double EndToEnd)> PublishAsync(Microsoft.AspNetCore.Builder.WebApplication app, string label, string upload, CancellationToken cancellationToken)
    {
        var store = app.Services.GetRequiredService<OpenConnect.Origin.Pipeline.Jobs.JobStore>();
        var clock = Stopwatch.StartNew();
        var submission = await app.Services.GetRequiredService<IPipelineIntake>().SubmitAsync(new SourceUpload(label, upload, new Dictionary<string, string>()), cancellationToken);
        if (!submission.Accepted)
        {
            throw new InvalidOperationException($"the source was rejected: {submission.Reason}");
        }

        while (true)
        {
            await Task.Delay(200, cancellationToken);
            var title = store.Get(submission.TitleId)!;
            if (title.State == TitleStates.Published)
            {
                break;
            }

            if (title.State == TitleStates.Failed)
            {
                throw new InvalidOperationException($"the pipeline failed: {title.Reason}");
            }
        }

        var endToEnd = clock.Elapsed.TotalSeconds;
        var steps = store.Steps(submission.TitleId).ToDictionary(s => s.Name);
        var start = steps["audio"].StartedAt!.Value;
        var end = steps["package"].FinishedAt!.Value;
        Console.WriteLine($"{label}: published in {endToEnd:F2} s; audio→package {(end - start).TotalSeconds:F2} s");
        return (submission.TitleId, (end - start).TotalSeconds, endToEnd);
    }

    private static async Task<SingleRun> RunSingleCommandAsync(string work, string source, IReadOnlyList<Rung> rungs, PipelineOptions options, string? cpus, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(work, "single");
        Directory.CreateDirectory(directory);
        var fps = 30.0;
        var graph = new StringBuilder($"[0:v]split={rungs.Count}");
        for (var i = 0; i < rungs.Count; i++)
        {
            graph.Append(CultureInfo.InvariantCulture, $"[s{i}]");
        }

        for (var i = 0; i < rungs.Count; i++)
        {
            graph.Append(CultureInfo.InvariantCulture, $";[s{i}]{EncoderArguments.ScaleFilter(rungs[i])}[v{i}]");
        }

        var arguments = new StringBuilder($"-y -i {Quote(source)} -filter_complex \"{graph}\"");
        for (var i = 0; i < rungs.Count; i++)
        {
            arguments.Append(CultureInfo.InvariantCulture, $" -map [v{i}]");
        }

        arguments.Append(" -map 0:a:0");
        for (var i = 0; i < rungs.Count; i++)
        {
            arguments.Append(' ').Append(EncoderArguments.Video(rungs[i], fps, options.SegmentSeconds, options, $"v:{i}"));
        }

        arguments.Append(' ').Append(EncoderArguments.Audio(options, "a:0"));
        // One adaptation set per rung: the DASH muxer refuses rungs whose aspect differs by rounding (426x240 vs 256x144).
        var sets = string.Join(' ', Enumerable.Range(0, rungs.Count).Select(i => $"id={i},streams={i}")) + $" id={rungs.Count},streams=a";
        arguments.Append(CultureInfo.InvariantCulture, $" -f dash -seg_duration {options.SegmentSeconds} -use_template 1 -use_timeline 1 -dash_segment_type mp4 -hls_playlist 1 -adaptation_sets \"{sets}\" {Quote(Path.Combine(directory, "manifest.mpd"))}");
        Console.WriteLine($"single: ffmpeg {arguments}");
        var clock = Stopwatch.StartNew();
        await RunFfmpegAsync(arguments.ToString(), cpus, cancellationToken);
        var wall = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"single: {wall:F2} s");
        return new SingleRun(directory, wall);
    }

    /// <summary>Joins an init segment and its media segments into one playable fragmented MP4.</summary>
    private static string Concatenate(string directory, string init, string pattern, string output)
    {
        using var target = File.Create(output);
        foreach (var file in new[] { Path.Combine(directory, init) }.Concat(Directory.GetFiles(directory, pattern).Order(StringComparer.Ordinal)))
        {
            using var part = File.OpenRead(file);
            part.CopyTo(target);
        }

        return output;
    }

    private static async Task<double> SsimAsync(string encoded, string source, Rung rung, string? cpus, CancellationToken cancellationToken)
    {
        var graph = $"[0:v]setpts=PTS-STARTPTS[d];[1:v]{EncoderArguments.ScaleFilter(rung)},setpts=PTS-STARTPTS[r];[d][r]ssim";
        var output = await RunFfmpegAsync($"-i {Quote(encoded)} -i {Quote(source)} -lavfi \"{graph}\" -f null -", cpus, cancellationToken);
        var match = SsimAll().Match(output);
        if (!match.Success)
        {
            throw new InvalidOperationException($"no SSIM in ffmpeg output for {rung.Name}: {output[^Math.Min(400, output.Length)..]}");
        }

        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>Runs ffmpeg (under <c>taskset -c</c> when CPUs are given) and returns its stderr; throws on failure.</summary>
    private static async Task<string> RunFfmpegAsync(string arguments, string? cpus, CancellationToken cancellationToken)
    {
        var info = cpus is null
            ? new ProcessStartInfo("ffmpeg", "-hide_banner -nostdin -loglevel info -nostats " + arguments)
            : new ProcessStartInfo("taskset", $"-c {cpus} ffmpeg -hide_banner -nostdin -loglevel info -nostats {arguments}");
        info.RedirectStandardError = true;
        info.RedirectStandardOutput = true;
        info.UseShellExecute = false;
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start ffmpeg");
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromHours(1));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var error = await stderr;
        await stdout;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"ffmpeg exited with {process.ExitCode}: {error[^Math.Min(800, error.Length)..]}");
        }

        return error;
    }

    private static nint CpuMask(string cpus)
    {
        long mask = 0;
        foreach (var part in cpus.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var range = part.Split('-');
            var from = int.Parse(range[0], CultureInfo.InvariantCulture);
            var to = range.Length > 1 ? int.Parse(range[1], CultureInfo.InvariantCulture) : from;
            for (var cpu = from; cpu <= to; cpu++)
            {
                mask |= 1L << cpu;
            }
        }

        return (nint)mask;
    }

    private static bool ParseStore(string value) => value switch
    {
        "s3" => true,
        "local" => false,
        _ => throw new BenchUsageException($"--store must be s3 or local, not '{value}'"),
    };

    private static string Quote(string path) => "\"" + path + "\"";

    private static string Value(IReadOnlyList<string> args, int i) =>
        i < args.Count ? args[i] : throw new BenchUsageException($"{args[i - 1]} needs a value");

    private static int ParseInt(IReadOnlyList<string> args, int i, int min, int max) =>
        int.TryParse(Value(args, i), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max
            ? v
            : throw new BenchUsageException($"{args[i - 1]} must be an integer between {min} and {max}");

    [GeneratedRegex(@"SSIM .*All:([0-9.]+)")]
    private static partial Regex SsimAll();
}
