using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Options;
using OpenConnect.Origin.Pipeline.Jobs;
using OpenConnect.Origin.Publishing;
using OpenConnect.Origin.Storage;

namespace OpenConnect.Origin.Pipeline;

/// <summary>A time range of the source encoded to every rung by one job; starts are multiples of the segment length.</summary>
public sealed record Chunk(int Index, double Start, double Duration);

/// <summary>The fixed plan of a title, written once by the chunk step so a resumed run makes the same outputs.</summary>
public sealed record TitlePlan(IReadOnlyList<Rung> Rungs, IReadOnlyList<Chunk> Chunks, int SegmentSeconds, double FrameRate, double Duration, bool HasAudio);

/// <summary>A step that kept failing: the title fails with this message.</summary>
public sealed class StepFailedException(string step, int attempts, string error)
    : Exception($"step {step} failed after {attempts} attempt{(attempts == 1 ? "" : "s")}: {error}")
{
    public string Step { get; } = step;
}

/// <summary>
/// Runs one title through the DAG: probe → audio → chunk (plan) → encode (one chunk job per chunk
/// for all its rungs, claimed by workers in parallel) → concat (per rung) → package → thumbnails → integrity → publish. Every step is
/// skipped when the job store already records it done, writes its outputs under temporary names and
/// renames them into place before it is recorded, and is retried with exponential backoff.
/// </summary>
public sealed partial class TitleProcessor
{
    // Share of the progress bar per step; encode jobs share EncodeWeight.
    private const double EncodeWeight = 70;
    private static readonly Dictionary<string, double> Weights = new()
    {
        ["probe"] = 2,
        ["audio"] = 4,
        ["chunk"] = 1,
        ["concat"] = 3,
        ["package"] = 6,
        ["thumbnails"] = 8,
        ["integrity"] = 3,
        ["publish"] = 3,
    };

    private readonly JobStore _store;
    private readonly PipelinePaths _paths;
    private readonly PipelineOptions _options;
    private readonly ITitlePublisher _publisher;
    private readonly IObjectStore _objects;
    private readonly PipelineMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<TitleProcessor> _logger;
    private readonly Jobs.ChunkSignal _chunkSignal;
    private readonly ChunkTransfer _transfer;
    private readonly Ffmpeg _ffmpeg;
    private readonly SourceProbe _probe;
    private readonly Protection.ITitleKeys _keys;

    public TitleProcessor(
        JobStore store,
        PipelinePaths paths,
        IOptions<OriginOptions> options,
        ITitlePublisher publisher,
        IObjectStore objects,
        PipelineMetrics metrics,
        SourceProbe probe,
        Ffmpeg ffmpeg,
        TimeProvider time,
        ILogger<TitleProcessor> logger,
        Protection.ITitleKeys keys,
        Jobs.ChunkSignal chunkSignal,
        ChunkTransfer transfer)
    {
        _transfer = transfer;
        _store = store;
        _paths = paths;
        _options = options.Value.Pipeline;
        _publisher = publisher;
        _objects = objects;
        _metrics = metrics;
        _probe = probe;
        _time = time;
        _logger = logger;
        _chunkSignal = chunkSignal;
        _ffmpeg = ffmpeg;
        _keys = keys;
    }

    /// <summary>Runs the remaining steps of a title; throws <see cref="StepFailedException"/> when a step exhausts its attempts.</summary>
    public async Task RunAsync(string titleId, CancellationToken cancellationToken)
    {
        var work = _paths.Work(titleId);
        Directory.CreateDirectory(work);
        DurableFile.RemoveTemporaries(work);
        _store.SetState(titleId, TitleStates.Processing);
        _metrics.Refresh(_store);
        var done = _store.Steps(titleId).Where(s => s.State == "done").Select(s => s.Name).ToHashSet();
        var progress = new TitleProgress(_store, titleId, _time);
        foreach (var name in done)
        {
            progress.Complete(WeightOf(name, plan: null));
        }

        await StepAsync(titleId, "probe", done, progress, ct => ProbeAsync(titleId, ct), cancellationToken);
        var title = _store.Get(titleId)!;
        var source = title.Source!;
        if (source.AudioCodec is not null)
        {
            await StepAsync(titleId, "audio", done, progress, ct => ExtractAudioAsync(titleId, title.SourceFile!, source, ct), cancellationToken);
        }

        await StepAsync(titleId, "chunk", done, progress, ct => PlanAsync(titleId, title.SourceFile!, source, ct), cancellationToken);
        var plan = ReadPlan(titleId);
        progress.SetEncodeJobs(plan.Chunks.Count, plan.Chunks.Count(c => IsChunkEncoded(done, plan, c)));

        await EncodeAllAsync(titleId, title.SourceFile!, plan, done, progress, cancellationToken);
        foreach (var rung in plan.Rungs)
        {
            await StepAsync(titleId, $"concat/{rung.Name}", done, progress, ct => ConcatAsync(titleId, rung, plan, ct), cancellationToken, Weights["concat"] / plan.Rungs.Count);
        }

        await StepAsync(titleId, "package", done, progress, ct => PackageAsync(titleId, plan, ct), cancellationToken);
        await StepAsync(titleId, "thumbnails", done, progress, ct => new Thumbnails(_ffmpeg, _options).WriteAsync(title.SourceFile!, source, work, _paths.Package(titleId), ct), cancellationToken);
        await StepAsync(titleId, "integrity", done, progress, ct => _publisher.WriteIntegrityManifestAsync(titleId, _paths.Package(titleId), ct), cancellationToken);
        await StepAsync(titleId, "publish", done, progress, ct => PublishAsync(titleId, ct), cancellationToken);

        _store.SetState(titleId, TitleStates.Published, published: true);
        _metrics.Refresh(_store);
        _store.RemoveChunks(titleId);
        CleanUp(titleId);
        await _transfer.DeleteTitleAsync(titleId);
    }

    private async Task StepAsync(string titleId, string name, HashSet<string> done, TitleProgress progress, Func<CancellationToken, Task> run, CancellationToken cancellationToken, double? weight = null)
    {
        if (done.Contains(name))
        {
            return;
        }

        var label = name.Split('/')[0];
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _store.StepStarted(titleId, name);
            progress.Show(label);
            var started = Stopwatch.GetTimestamp();
            using var activity = PipelineTraces.StartStep(titleId, name, label);
            try
            {
                await run(cancellationToken);
                _store.StepFinished(titleId, name, error: null);
                _metrics.StepSeconds.WithLabels(label).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
                lock (done)
                {
                    done.Add(name);
                }

                progress.Complete(weight ?? WeightOf(name, plan: null));
                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex) when (!LeaseRenewal.IsOutage(ex))
            {
                // (A job store outage is no failure of the step: it goes up to the PipelineWorker, which resumes the title once the store is back.)
                var error = ex.Message;
                activity?.SetStatus(ActivityStatusCode.Error, error);
                _store.StepFinished(titleId, name, error);
                _metrics.StepFailures.WithLabels(label).Inc();
                var attempts = _store.Steps(titleId).First(s => s.Name == name).Attempts;
                // A tool stopped by its CPU, memory or file-size limit would be stopped again: retrying
                // spends the same resources a hostile source is trying to take.
                if (attempts >= _options.MaxAttempts || ex is FfmpegFailedException { Result.HitLimitForGood: true })
                {
                    throw new StepFailedException(name, attempts, error);
                }

                var delay = _options.RetryDelay * Math.Pow(2, attempts - 1);
                Log.StepRetry(_logger, titleId, name, attempts, delay, error);
                _store.SetNextAttempt(titleId, _time.GetUtcNow() + delay);
                await Task.Delay(delay, _time, cancellationToken);
                _store.SetNextAttempt(titleId, null);
            }
        }
    }

    private static double WeightOf(string name, TitlePlan? plan)
    {
        _ = plan;
        var label = name.Split('/')[0];
        if (label is "encode" or "concat")
        {
            return 0; // counted by TitleProgress.SetEncodeJobs / per-rung weights
        }

        return Weights.GetValueOrDefault(label);
    }

    private async Task ProbeAsync(string titleId, CancellationToken cancellationToken)
    {
        var title = _store.Get(titleId)!;
        var sourceFile = title.SourceFile!;
        if (!File.Exists(sourceFile))
        {
            var upload = _store.UploadPath(titleId);
            if (!File.Exists(upload))
            {
                throw new FileNotFoundException("the source file is gone from both the work directory and the upload path");
            }

            File.Move(upload, sourceFile);
        }

        var result = await _probe.ProbeAsync(sourceFile, cancellationToken);
        if (result.Source is null)
        {
            throw new InvalidDataException(result.Rejection);
        }

        _store.SetSource(titleId, result.Source);
    }

    private async Task PlanAsync(string titleId, string sourceFile, SourceInfo source, CancellationToken cancellationToken)
    {
        var rungs = ProtectedRungs(titleId, await ChooseRungsAsync(titleId, sourceFile, source, cancellationToken));
        var chunks = new List<Chunk>();
        var segment = _options.SegmentSeconds;
        for (double start = 0; start < source.DurationSeconds - 0.001; start += _options.ChunkSeconds)
        {
            var length = Math.Min(_options.ChunkSeconds, source.DurationSeconds - start);
            chunks.Add(new Chunk(chunks.Count + 1, start, length));
        }

        // A tail shorter than half a segment is folded into the previous chunk.
        if (chunks.Count > 1 && chunks[^1].Duration < segment / 2.0)
        {
            var tail = chunks[^1];
            chunks.RemoveAt(chunks.Count - 1);
            chunks[^1] = chunks[^1] with { Duration = chunks[^1].Duration + tail.Duration };
        }

        var plan = new TitlePlan(rungs, chunks, segment, source.FrameRate, source.DurationSeconds, source.AudioCodec is not null);
        DurableFile.WriteAllText(Path.Combine(_paths.Work(titleId), "plan.json"), JsonSerializer.Serialize(plan));
    }

    private TitlePlan ReadPlan(string titleId) =>
        JsonSerializer.Deserialize<TitlePlan>(File.ReadAllText(Path.Combine(_paths.Work(titleId), "plan.json")))
        ?? throw new InvalidDataException("plan.json is empty");

    private async Task PublishAsync(string titleId, CancellationToken cancellationToken)
    {
        var package = _paths.Package(titleId);
        if (!Directory.Exists(package) && _objects.IsPublished(titleId))
        {
            return; // published before a crash that came ahead of the record
        }

        await _publisher.PublishAsync(titleId, package, cancellationToken);
    }

    private void CleanUp(string titleId)
    {
        // The source stays (a later re-encode starts from it); intermediate encodes go.
        var work = _paths.Work(titleId);
        foreach (var name in new[] { "encodes", "audio.m4a" })
        {
            var path = Path.Combine(work, name);
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
            else if (File.Exists(path))
            {
                File.Delete(path);
            }
        }
    }

    /// <summary>Percent done and the current step, written to the title row at most twice a second.</summary>
    private sealed class TitleProgress(JobStore store, string titleId, TimeProvider time)
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<string, double> _running = [];
        private double _done;
        private double _encodeJobWeight;
        private string _step = "probe";
        private DateTimeOffset _lastWrite;

        public void SetEncodeJobs(int total, int finished)
        {
            lock (_lock)
            {
                _encodeJobWeight = total == 0 ? 0 : EncodeWeight / total;
                _done += finished * _encodeJobWeight;
            }
        }

        public double EncodeJobWeight => _encodeJobWeight;

        public void Show(string step)
        {
            lock (_lock)
            {
                _step = step;
            }

            Write(force: true);
        }

        public void Complete(double weight)
        {
            lock (_lock)
            {
                _done += weight;
            }

            Write(force: true);
        }

        public void Running(string job, double fraction)
        {
            lock (_lock)
            {
                _running[job] = fraction;
            }

            Write(force: false);
        }

        public void Finished(string job)
        {
            lock (_lock)
            {
                _running.Remove(job);
            }
        }

        private void Write(bool force)
        {
            double percent;
            string step;
            lock (_lock)
            {
                var now = time.GetUtcNow();
                if (!force && now - _lastWrite < TimeSpan.FromMilliseconds(500))
                {
                    return;
                }

                _lastWrite = now;
                percent = Math.Min(99, _done + _running.Values.Sum() * _encodeJobWeight);
                step = _step;
            }

            store.SetProgress(titleId, step, percent);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3102, Level = LogLevel.Information, Message = "Title {TitleId}: per-title ladder {Rungs} from {Trials} trial encodes in {Seconds:F1} s")]
        public static partial void PerTitleLadder(ILogger logger, string titleId, string rungs, int trials, double seconds);

        [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "Title {TitleId}: step {Step} failed (attempt {Attempt}); retrying in {Delay}: {Error}")]
        public static partial void StepRetry(ILogger logger, string titleId, string step, int attempt, TimeSpan delay, string error);
    }
}
