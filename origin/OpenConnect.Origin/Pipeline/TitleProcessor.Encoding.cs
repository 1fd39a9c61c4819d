using System.Globalization;
using System.Text;

namespace OpenConnect.Origin.Pipeline;

/// <summary>Audio extraction, the parallel per-chunk encodes (all rungs of a chunk in one process) and their concatenation per rung.</summary>
public sealed partial class TitleProcessor
{
    private string EncodesDirectory(string titleId) => Path.Combine(_paths.Work(titleId), "encodes");

    private string ChunkFile(string titleId, Rung rung, Chunk chunk) =>
        Path.Combine(EncodesDirectory(titleId), rung.Name, string.Create(CultureInfo.InvariantCulture, $"chunk-{chunk.Index:d5}.mp4"));

    private string RungFile(string titleId, Rung rung) => Path.Combine(EncodesDirectory(titleId), rung.Name + ".mp4");

    private string AudioFile(string titleId) => Path.Combine(_paths.Work(titleId), "audio.m4a");

    /// <summary>The whole soundtrack once, as AAC stereo: chunked audio would carry encoder priming at every chunk boundary.</summary>
    private async Task ExtractAudioAsync(string titleId, string sourceFile, SourceInfo source, CancellationToken cancellationToken)
    {
        var output = AudioFile(titleId);
        var temp = DurableFile.TempFor(output);
        await _ffmpeg.RunAsync(sourceFile, MediaInputFormat.ForContainer(source.Container), "", temp, $"-map 0:a:0 -vn -sn -dn {EncoderArguments.Audio(_options)}", _paths.Work(titleId), TimeSpan.FromSeconds(source.DurationSeconds), null, cancellationToken);
        DurableFile.Commit(temp, output);
    }

    /// <summary>
    /// One job per chunk not yet done, at most <see cref="PipelineOptions.MaxParallelEncodes"/> at
    /// once, longest chunks first so a long tail chunk does not trail at the end. The first job to
    /// fail for good cancels the others.
    /// </summary>
    private async Task EncodeAllAsync(string titleId, string sourceFile, TitlePlan plan, HashSet<string> done, TitleProgress progress, CancellationToken cancellationToken)
    {
        var jobs = plan.Chunks
            .Where(c => !IsChunkEncoded(done, plan, c))
            .OrderByDescending(c => c.Duration)
            .ThenBy(c => c.Index)
            .ToList();
        if (jobs.Count == 0)
        {
            return;
        }

        foreach (var rung in plan.Rungs)
        {
            Directory.CreateDirectory(Path.Combine(EncodesDirectory(titleId), rung.Name));
        }

        // Each job is one ffmpeg process (decoder, filters and every encoder of the chunk); share the
        // cores between the processes that run at once rather than letting each size itself to all.
        var threads = Math.Max(1, Environment.ProcessorCount / _options.MaxParallelEncodes);
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var tasks = jobs.Select(async chunk =>
        {
            await _encodeSlots.WaitAsync(failed.Token);
            try
            {
                // Rungs a run before the one-job-per-chunk layout already recorded are not encoded again.
                var rungs = plan.Rungs.Where(r => !done.Contains(LegacyEncodeStepName(r, chunk))).ToList();
                await StepAsync(titleId, EncodeStepName(chunk), done, progress, ct => EncodeChunkAsync(titleId, sourceFile, plan, rungs, chunk, threads, progress, ct), failed.Token, progress.EncodeJobWeight);
            }
            catch (StepFailedException)
            {
                await failed.CancelAsync();
                throw;
            }
            finally
            {
                _encodeSlots.Release();
            }
        }).ToList();

        try
        {
            await Task.WhenAll(tasks);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // A sibling failed for good: surface its failure rather than the cancellations it caused.
            var failure = tasks.Where(t => t.IsFaulted).SelectMany(t => t.Exception!.InnerExceptions).OfType<StepFailedException>().FirstOrDefault();
            if (failure is not null)
            {
                throw failure;
            }

            throw;
        }
    }

    private static string EncodeStepName(Chunk chunk) => string.Create(CultureInfo.InvariantCulture, $"encode/{chunk.Index:d5}");

    /// <summary>The per (rung × chunk) step name of builds before one job per chunk; still honoured on resume.</summary>
    private static string LegacyEncodeStepName(Rung rung, Chunk chunk) => string.Create(CultureInfo.InvariantCulture, $"encode/{rung.Name}/{chunk.Index:d5}");

    /// <summary>Whether every rung of a chunk is encoded, under either step layout.</summary>
    private static bool IsChunkEncoded(HashSet<string> done, TitlePlan plan, Chunk chunk) =>
        done.Contains(EncodeStepName(chunk)) || plan.Rungs.All(r => done.Contains(LegacyEncodeStepName(r, chunk)));

    /// <summary>
    /// One time range of the source at every rung, in one ffmpeg process: the range is decoded once
    /// and <c>split</c> to one <c>scale</c> and one encoder per rung, each writing its own chunk file.
    /// Input seeking is frame-exact when transcoding (ffmpeg decodes from the keyframe before
    /// <c>-ss</c> and drops frames before it), so chunk boundaries sit exactly on segment multiples
    /// whatever the source's keyframes; each output's first frame is a forced keyframe and its GOPs
    /// are closed. Every output is made durable before any is renamed into place, and the step is
    /// recorded only after all of them are.
    /// </summary>
    private async Task EncodeChunkAsync(string titleId, string sourceFile, TitlePlan plan, IReadOnlyList<Rung> rungs, Chunk chunk, int threads, TitleProgress progress, CancellationToken cancellationToken)
    {
        if (rungs.Count == 0)
        {
            return;
        }

        var outputs = rungs.Select(r => (Final: ChunkFile(titleId, r, chunk), Temp: DurableFile.TempFor(ChunkFile(titleId, r, chunk)))).ToList();
        var job = string.Create(CultureInfo.InvariantCulture, $"chunk/{chunk.Index}");
        var input = string.Create(CultureInfo.InvariantCulture, $"-threads {threads} -ss {chunk.Start:0.######}");
        var ffmpegOutputs = new List<(string Output, string Arguments)>(rungs.Count);
        // Chunks count from 1: the title's first chunk holds the short first segment's extra keyframe.
        var firstSegment = chunk.Index == 1 ? FirstSegmentSeconds(plan.Rungs, _options) : 0;
        for (var i = 0; i < rungs.Count; i++)
        {
            var prefix = i == 0 ? $"-filter_complex_threads {threads} -filter_complex \"{EncoderArguments.SplitScaleFilter(rungs)}\" " : "";
            ffmpegOutputs.Add((outputs[i].Temp, prefix + string.Create(CultureInfo.InvariantCulture, $"-t {chunk.Duration:0.######} -map \"[v{i}]\" -an -sn -dn -fps_mode passthrough -threads {threads} {EncoderArguments.Video(rungs[i], plan.FrameRate, plan.SegmentSeconds, _options, firstSegmentSeconds: firstSegment)}")));
        }

        try
        {
            await _ffmpeg.RunAsync(sourceFile, MediaInputFormat.ForSourceFile(sourceFile), input, ffmpegOutputs, _paths.Work(titleId), TimeSpan.FromSeconds(chunk.Duration), f => progress.Running(job, f), cancellationToken);
        }
        finally
        {
            progress.Finished(job);
        }

        foreach (var (_, temp) in outputs)
        {
            DurableFile.Flush(temp);
        }

        foreach (var (final, temp) in outputs)
        {
            File.Move(temp, final, overwrite: true);
        }
    }

    /// <summary>Joins a rung's chunks without re-encoding (ffmpeg's concat demuxer).</summary>
    private async Task ConcatAsync(string titleId, Rung rung, TitlePlan plan, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(EncodesDirectory(titleId), rung.Name);
        var list = new StringBuilder("ffconcat version 1.0\n");
        foreach (var chunk in plan.Chunks)
        {
            var file = Path.GetFileName(ChunkFile(titleId, rung, chunk));
            if (!File.Exists(Path.Combine(directory, file)))
            {
                throw new FileNotFoundException($"chunk {file} of {rung.Name} is missing");
            }

            list.Append(CultureInfo.InvariantCulture, $"file {file}\n");
        }

        var listFile = Path.Combine(directory, "concat.ffconcat");
        DurableFile.WriteAllText(listFile, list.ToString());
        var output = RungFile(titleId, rung);
        var temp = DurableFile.TempFor(output);
        await _ffmpeg.RunAsync(listFile, MediaInputFormat.ChunkList, "-safe 0", temp, "-map 0:v:0 -c copy", directory, TimeSpan.FromSeconds(plan.Duration), null, cancellationToken);
        DurableFile.Commit(temp, output);
    }
}
