using System.Globalization;
using System.Text;

namespace OpenConnect.Origin.Pipeline;

/// <summary>Audio extraction, the parallel chunk × rung encodes and their concatenation per rung.</summary>
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
        await _ffmpeg.RunAsync(sourceFile, "", temp, $"-map 0:a:0 -vn -sn -dn {EncoderArguments.Audio(_options)}", _paths.Work(titleId), TimeSpan.FromSeconds(source.DurationSeconds), null, cancellationToken);
        DurableFile.Commit(temp, output);
    }

    /// <summary>
    /// Every (chunk × rung) job not yet done, at most <see cref="PipelineOptions.MaxParallelEncodes"/>
    /// at once, biggest frames first so the long jobs do not trail at the end. The first job to fail
    /// for good cancels the others.
    /// </summary>
    private async Task EncodeAllAsync(string titleId, string sourceFile, TitlePlan plan, HashSet<string> done, TitleProgress progress, CancellationToken cancellationToken)
    {
        var jobs = plan.Rungs
            .OrderByDescending(r => r.Width * r.FrameHeight)
            .SelectMany(r => plan.Chunks.Select(c => (Rung: r, Chunk: c)))
            .Where(j => !done.Contains(EncodeStepName(j.Rung, j.Chunk)))
            .ToList();
        if (jobs.Count == 0)
        {
            return;
        }

        foreach (var rung in plan.Rungs)
        {
            Directory.CreateDirectory(Path.Combine(EncodesDirectory(titleId), rung.Name));
        }

        var threads = Math.Max(1, Environment.ProcessorCount / _options.MaxParallelEncodes);
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var tasks = jobs.Select(async job =>
        {
            await _encodeSlots.WaitAsync(failed.Token);
            try
            {
                var name = EncodeStepName(job.Rung, job.Chunk);
                await StepAsync(titleId, name, done, progress, ct => EncodeChunkAsync(titleId, sourceFile, plan, job.Rung, job.Chunk, threads, progress, ct), failed.Token, progress.EncodeJobWeight);
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

    private static string EncodeStepName(Rung rung, Chunk chunk) => string.Create(CultureInfo.InvariantCulture, $"encode/{rung.Name}/{chunk.Index:d5}");

    /// <summary>
    /// One time range of the source at one rung. Input seeking is frame-exact when transcoding
    /// (ffmpeg decodes from the keyframe before <c>-ss</c> and drops frames before it), so chunk
    /// boundaries sit exactly on segment multiples whatever the source's keyframes; the chunk's
    /// first frame is a forced keyframe and its GOPs are closed.
    /// </summary>
    private async Task EncodeChunkAsync(string titleId, string sourceFile, TitlePlan plan, Rung rung, Chunk chunk, int threads, TitleProgress progress, CancellationToken cancellationToken)
    {
        var output = ChunkFile(titleId, rung, chunk);
        var temp = DurableFile.TempFor(output);
        var job = rung.Name + "/" + chunk.Index;
        var input = string.Create(CultureInfo.InvariantCulture, $"-threads {threads} -ss {chunk.Start:0.######}");
        var arguments = string.Create(CultureInfo.InvariantCulture, $"-t {chunk.Duration:0.######} -map 0:v:0 -an -sn -dn -fps_mode passthrough -vf \"{EncoderArguments.ScaleFilter(rung)}\" -threads {threads} {EncoderArguments.Video(rung, plan.FrameRate, plan.SegmentSeconds, _options)}");
        try
        {
            await _ffmpeg.RunAsync(sourceFile, input, temp, arguments, _paths.Work(titleId), TimeSpan.FromSeconds(chunk.Duration), f => progress.Running(job, f), cancellationToken);
        }
        finally
        {
            progress.Finished(job);
        }

        DurableFile.Commit(temp, output);
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
        await _ffmpeg.RunAsync(listFile, "-f concat -safe 0", temp, "-map 0:v:0 -c copy", directory, TimeSpan.FromSeconds(plan.Duration), null, cancellationToken);
        DurableFile.Commit(temp, output);
    }
}
