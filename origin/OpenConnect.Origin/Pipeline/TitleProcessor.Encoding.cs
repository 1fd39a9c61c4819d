using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace OpenConnect.Origin.Pipeline;

/// <summary>Audio extraction, the chunk encode jobs (all rungs of a chunk in one job, run by workers) and their concatenation per rung.</summary>
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
    /// Queues one job per chunk not yet done in the <see cref="Jobs.JobStore"/>, longest chunks first so a
    /// long tail chunk does not trail at the end, and follows them while workers (this process's
    /// <see cref="Jobs.ChunkWorker"/> and any worker processes on the same store) encode them: a job done
    /// is promoted (its claim's outputs renamed to the chunk files) and recorded as the chunk's encode
    /// step. The first job to fail for good withdraws the others and fails the title.
    /// </summary>
    private async Task EncodeAllAsync(string titleId, string sourceFile, TitlePlan plan, HashSet<string> done, TitleProgress progress, CancellationToken cancellationToken)
    {
        var pending = plan.Chunks
            .Where(c => !IsChunkEncoded(done, plan, c))
            .OrderByDescending(c => c.Duration)
            .ThenBy(c => c.Index)
            .ToList();
        if (pending.Count == 0)
        {
            return;
        }

        foreach (var rung in plan.Rungs)
        {
            Directory.CreateDirectory(Path.Combine(EncodesDirectory(titleId), rung.Name));
        }

        var source = Path.GetRelativePath(_paths.DataDirectory, sourceFile);
        // With the object store on S3 the source goes to its work prefix for workers on other hosts
        // (again on a resumed run: the title's work objects may have been deleted since).
        var sourceObject = _transfer.IsRemote ? await _transfer.StageSourceAsync(titleId, sourceFile, cancellationToken) : null;
        var firstSegment = FirstSegmentSeconds(plan.Rungs, _options);
        var specs = pending.ToDictionary(c => c.Index, chunk => new Jobs.ChunkJobSpec(
            titleId,
            source,
            chunk,
            // Rungs a run before the one-job-per-chunk layout already recorded are not encoded again.
            [.. plan.Rungs.Where(r => !done.Contains(LegacyEncodeStepName(r, chunk)))],
            plan.FrameRate,
            plan.SegmentSeconds,
            // Chunks count from 1: the title's first chunk holds the short first segment's extra keyframe.
            chunk.Index == 1 ? firstSegment : 0,
            sourceObject));
        _store.EnqueueChunks(titleId, [.. pending.Select(c => (c.Index, JsonSerializer.Serialize(specs[c.Index])))]);
        _chunkSignal.Wake(pending.Count);
        progress.Show("encode");

        // One span per chunk, from queued to recorded, as children of the title's run.
        var run = Activity.Current;
        var spans = new Dictionary<int, Activity?>();
        foreach (var chunk in pending)
        {
            spans[chunk.Index] = PipelineTraces.StartStep(titleId, EncodeStepName(chunk), "encode");
            Activity.Current = run;
        }

        try
        {
            var remaining = pending.Select(c => c.Index).ToHashSet();
            while (remaining.Count > 0)
            {
                _store.FailAbandonedChunks(_options.MaxAttempts);
                var jobs = _store.ChunkJobs(titleId);
                // A chunk whose row is gone (withdrawn by a run that lost the title, or deleted by an
                // operator) is queued again rather than waited for forever.
                var missing = remaining.Where(c => !jobs.Any(j => j.Chunk == c)).ToList();
                if (missing.Count > 0)
                {
                    _store.EnqueueChunks(titleId, [.. missing.Select(c => (c, JsonSerializer.Serialize(specs[c])))]);
                }

                foreach (var job in jobs.Where(j => remaining.Contains(j.Chunk)))
                {
                    var name = EncodeStepName(specs[job.Chunk].Chunk);
                    switch (job.State)
                    {
                        case Jobs.ChunkJobStates.Done:
                            await PromoteAsync(specs[job.Chunk], job.Output!, cancellationToken);
                            _store.StepDone(titleId, name, job.Attempts, job.StartedAt, job.FinishedAt ?? _time.GetUtcNow());
                            lock (done)
                            {
                                done.Add(name);
                            }

                            remaining.Remove(job.Chunk);
                            progress.Finished(name);
                            progress.Complete(progress.EncodeJobWeight);
                            spans[job.Chunk]?.Dispose();
                            break;
                        case Jobs.ChunkJobStates.Failed:
                            _store.WithdrawChunks(titleId);
                            _store.StepStarted(titleId, name);
                            _store.StepFinished(titleId, name, job.Error);
                            spans[job.Chunk]?.SetStatus(ActivityStatusCode.Error, job.Error);
                            throw new StepFailedException(name, job.Attempts, job.Error ?? "failed");
                        case Jobs.ChunkJobStates.Running:
                            progress.Running(name, job.Progress);
                            break;
                    }
                }

                if (remaining.Count > 0)
                {
                    await Task.Delay(ChunkFollowInterval, _time, cancellationToken);
                }
            }
        }
        finally
        {
            foreach (var span in spans.Values)
            {
                span?.Dispose();
            }
        }
    }

    /// <summary>How often the title's coordinator reads its chunk jobs' states.</summary>
    private static readonly TimeSpan ChunkFollowInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Moves a done job's outputs (in its claim's directory) to the chunk files the concat reads, or
    /// gets them from the object store when the job went through it. A crash after some renames leaves
    /// the rest to the next run, which finds the moved ones in place.
    /// </summary>
    private async Task PromoteAsync(Jobs.ChunkJobSpec spec, string output, CancellationToken cancellationToken)
    {
        if (spec.SourceObject is not null)
        {
            if (!await _transfer.GetOutputsAsync(spec, output, rung => ChunkFile(spec.TitleId, rung, spec.Chunk), cancellationToken))
            {
                throw new FileNotFoundException($"chunk {spec.Chunk.Index} is missing from its job's output in the object store ({output})");
            }

            return;
        }

        var directory = Path.Combine(_paths.DataDirectory, output);
        foreach (var rung in spec.Rungs)
        {
            var from = Jobs.ChunkJobSpec.OutputFile(directory, rung);
            var to = ChunkFile(spec.TitleId, rung, spec.Chunk);
            if (File.Exists(from))
            {
                File.Move(from, to, overwrite: true);
            }
            else if (!File.Exists(to))
            {
                throw new FileNotFoundException($"chunk {spec.Chunk.Index} of {rung.Name} is missing from its job's output");
            }
        }
    }

    private static string EncodeStepName(Chunk chunk) => string.Create(CultureInfo.InvariantCulture, $"encode/{chunk.Index:d5}");

    /// <summary>The per (rung × chunk) step name of builds before one job per chunk; still honoured on resume.</summary>
    private static string LegacyEncodeStepName(Rung rung, Chunk chunk) => string.Create(CultureInfo.InvariantCulture, $"encode/{rung.Name}/{chunk.Index:d5}");

    /// <summary>Whether every rung of a chunk is encoded, under either step layout.</summary>
    private static bool IsChunkEncoded(HashSet<string> done, TitlePlan plan, Chunk chunk) =>
        done.Contains(EncodeStepName(chunk)) || plan.Rungs.All(r => done.Contains(LegacyEncodeStepName(r, chunk)));

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
