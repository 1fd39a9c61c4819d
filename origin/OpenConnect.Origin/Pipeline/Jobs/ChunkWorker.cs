using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Options;

namespace OpenConnect.Origin.Pipeline.Jobs;

/// <summary>Wakes the chunk workers of this process when a title's chunks are queued.</summary>
public sealed class ChunkSignal
{
    private readonly SemaphoreSlim _signal = new(0, int.MaxValue);

    public void Wake(int jobs) => _signal.Release(Math.Max(1, jobs));

    public Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);
}

/// <summary>
/// Claims chunk jobs from the <see cref="JobStore"/> and encodes them, <see cref="PipelineOptions.MaxParallelEncodes"/>
/// at once (each one ffmpeg process; the cores are shared between them). A claim's lease is renewed
/// every third of <see cref="PipelineOptions.ChunkLease"/> while ffmpeg runs; a renewal that is refused
/// (the lease ran out, the job was withdrawn) stops ffmpeg. A failed attempt is queued again after the
/// pipeline's backoff, up to <see cref="PipelineOptions.MaxAttempts"/>. Runs in the origin and, alone,
/// in worker processes (<c>Origin:Role=worker</c>). A job that goes through the object store
/// (<see cref="ChunkTransfer"/>) is completed only after its outputs are in the bucket. While the job
/// store is down (a PostgreSQL restart), each slot retries with a growing wait (<see cref="StoreBackoff"/>)
/// and a finished encode holds its completion until the store answers: nothing crashes or spins.
/// </summary>
public sealed partial class ChunkWorker(JobStore store, ChunkEncoder encoder, ChunkTransfer transfer, ChunkSignal signal, PipelineMetrics metrics, PipelinePaths paths, IOptions<OriginOptions> options, TimeProvider time, ILogger<ChunkWorker> logger) : BackgroundService
{
    private readonly PipelineOptions _options = options.Value.Pipeline;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        ReleaseClaimsOfDeadProcesses();
        if (!options.Value.IsWorker && !_options.EncodeInProcess)
        {
            return;
        }

        if (options.Value.IsWorker)
        {
            // The origin does this for its own data directory when it starts; a worker for the tools
            // a killed predecessor of its own left (tools under a live origin or worker are spared).
            var leftovers = LeftoverTools.Kill(paths.WorkRoot);
            if (leftovers.Count > 0)
            {
                Log.LeftoversKilled(logger, leftovers.Count, string.Join(", ", leftovers));
            }
        }

        EvictFinishedSources();
        var slots = _options.MaxParallelEncodes;
        // Each job is one ffmpeg process (decoder, filters and every encoder of the chunk); share the
        // cores between the processes that run at once rather than letting each size itself to all.
        var threads = Math.Max(1, Environment.ProcessorCount / slots);
        var owner = OwnerPrefix + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        await Task.WhenAll(Enumerable.Range(1, slots).Select(slot => RunSlotAsync($"{owner}/{slot}", threads, stoppingToken)));
    }

    /// <summary>Claims are named <c>{host}/{pid}/{slot}</c>: which process on which host holds a job or coordinates a title.</summary>
    internal static string OwnerPrefix => Environment.MachineName + "/";

    /// <summary>
    /// Ends the leases of processes on this host that are gone (a killed origin or worker), so their
    /// chunks are claimed again now rather than when the leases run out. Only processes of this host
    /// can be checked; another host's dead worker's jobs wait for their leases. Should the host name be
    /// shared, a live claim ended here is only encoded twice: its holder's completion is refused.
    /// </summary>
    private void ReleaseClaimsOfDeadProcesses()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            foreach (var owner in store.ClaimOwners(OwnerPrefix))
            {
                var parts = owner.Split('/');
                if (parts.Length == 3
                    && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                    && pid != Environment.ProcessId
                    && !LeftoverTools.HasOriginAncestor(pid))
                {
                    var released = store.ExpireLeasesOf(owner);
                    Log.ReleasedDeadClaims(logger, released, owner);
                }
            }
        }
        catch (Exception ex) when (LeaseRenewal.IsStoreUnavailable(ex))
        {
            Log.StoreUnavailable(logger, ex.Message);
        }
    }

    private async Task RunSlotAsync(string owner, int threads, CancellationToken stoppingToken)
    {
        var backoff = new StoreBackoff(TimeSpan.FromMilliseconds(250), StoreBackoff.Max);
        while (!stoppingToken.IsCancellationRequested)
        {
            ChunkLease? claim;
            try
            {
                claim = store.ClaimChunk(owner, _options.ChunkLease, _options.MaxAttempts);
                if (backoff.Failing)
                {
                    Log.StoreBack(logger);
                }

                backoff.Reset();
            }
            catch (Exception ex) when (LeaseRenewal.IsStoreUnavailable(ex))
            {
                var wait = backoff.Next();
                Log.StoreUnavailableRetry(logger, wait.TotalSeconds, ex.Message);
                store.ForgetConnections();
                if (!await DelayAsync(wait, stoppingToken))
                {
                    return;
                }

                continue;
            }

            if (claim is null)
            {
                try
                {
                    await signal.WaitAsync(_options.ChunkPollInterval, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            await RunAsync(claim, threads, stoppingToken);
            EvictFinishedSources();
        }
    }

    private async Task<bool> DelayAsync(TimeSpan wait, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(wait, time, stoppingToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void EvictFinishedSources()
    {
        if (!transfer.IsRemote)
        {
            return;
        }

        try
        {
            transfer.EvictFinished();
        }
        catch (Exception ex) when (LeaseRenewal.IsStoreUnavailable(ex) || ex is IOException)
        {
            // Tried again after the next job.
            Log.StoreUnavailable(logger, ex.Message);
        }
    }

    private async Task RunAsync(ChunkLease claim, int threads, CancellationToken stoppingToken)
    {
        var spec = System.Text.Json.JsonSerializer.Deserialize<ChunkJobSpec>(claim.Spec)!;
        var output = spec.OutputDirectory(claim.Token);
        string? uploaded = null;
        using var lost = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        using var renewing = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var progress = 0.0;
        var renewal = LeaseRenewal.RunAsync(() => store.RenewChunk(claim, _options.ChunkLease, Volatile.Read(ref progress)), _options.ChunkLease, time, lost, ex => Log.StoreUnavailable(logger, ex.Message), renewing.Token);
        var started = Stopwatch.GetTimestamp();
        Log.Claimed(logger, claim.TitleId, claim.Chunk, claim.Attempt);
        try
        {
            var source = await transfer.SourceForAsync(spec, lost.Token);
            await encoder.EncodeAsync(spec, source, claim.Token, threads, f => Volatile.Write(ref progress, f), lost.Token);
            if (spec.SourceObject is not null)
            {
                // The outputs go to the bucket while the lease is still renewed; the completion names them.
                uploaded = ChunkTransfer.OutputPrefix(spec, claim.Token);
                await transfer.PutOutputsAsync(spec, claim.Token, output, lost.Token);
                encoder.Discard(output);
            }

            await renewing.CancelAsync();
            await renewal;
            var completed = await CompleteAsync(claim, uploaded ?? output, stoppingToken);
            if (completed)
            {
                metrics.StepSeconds.WithLabels("encode").Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
                return;
            }

            Log.CompletionRefused(logger, claim.TitleId, claim.Chunk);
            await DiscardAsync(output, uploaded);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the lease runs out and another worker (or this one, restarted) claims the job.
            await DiscardAsync(output, uploaded);
        }
        catch (OperationCanceledException) when (lost.IsCancellationRequested)
        {
            Log.LeaseLost(logger, claim.TitleId, claim.Chunk);
            await DiscardAsync(output, uploaded);
        }
        catch (Exception ex)
        {
            await renewing.CancelAsync();
            await renewal;
            await DiscardAsync(output, uploaded);
            metrics.StepFailures.WithLabels("encode").Inc();
            var final = claim.Attempt >= _options.MaxAttempts || ex is FfmpegFailedException { Result.HitLimitForGood: true };
            var delay = _options.RetryDelay * Math.Pow(2, claim.Attempt - 1);
            Log.Failed(logger, claim.TitleId, claim.Chunk, claim.Attempt, final, ex.Message);
            try
            {
                store.FailChunk(claim, ex.Message, final ? null : time.GetUtcNow() + delay);
            }
            catch (Exception storeError) when (LeaseRenewal.IsStoreUnavailable(storeError))
            {
                // The lease runs out and the job is claimed again, which counts the attempt.
                Log.StoreUnavailable(logger, storeError.Message);
            }
        }
        finally
        {
            await renewing.CancelAsync();
            await renewal;
        }
    }

    /// <summary>
    /// Records the job done, waiting out a job store that is down (with <see cref="StoreBackoff"/>):
    /// once it answers, the completion holds if the lease still does, and is refused otherwise.
    /// False when refused; throws <see cref="OperationCanceledException"/> when the process stops first.
    /// </summary>
    private async Task<bool> CompleteAsync(ChunkLease claim, string output, CancellationToken stoppingToken)
    {
        var backoff = new StoreBackoff(TimeSpan.FromMilliseconds(250), StoreBackoff.Max);
        while (true)
        {
            try
            {
                return store.CompleteChunk(claim, output);
            }
            catch (Exception ex) when (LeaseRenewal.IsStoreUnavailable(ex))
            {
                var wait = backoff.Next();
                Log.StoreUnavailableRetry(logger, wait.TotalSeconds, ex.Message);
                store.ForgetConnections();
                if (!await DelayAsync(wait, stoppingToken))
                {
                    // Stopping: the lease runs out and the job is claimed again.
                    stoppingToken.ThrowIfCancellationRequested();
                }
            }
        }
    }

    private async Task DiscardAsync(string output, string? uploaded)
    {
        encoder.Discard(output);
        if (uploaded is not null)
        {
            await transfer.DiscardOutputsAsync(uploaded);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3201, Level = LogLevel.Debug, Message = "Title {TitleId}: chunk {Chunk} claimed (attempt {Attempt})")]
        public static partial void Claimed(ILogger logger, string titleId, int chunk, int attempt);

        [LoggerMessage(EventId = 3202, Level = LogLevel.Warning, Message = "Title {TitleId}: chunk {Chunk}: its lease was lost (it ran out or the job was withdrawn); stopped encoding it")]
        public static partial void LeaseLost(ILogger logger, string titleId, int chunk);

        [LoggerMessage(EventId = 3203, Level = LogLevel.Warning, Message = "Title {TitleId}: chunk {Chunk}: the completion was refused (the lease was lost); its output is discarded")]
        public static partial void CompletionRefused(ILogger logger, string titleId, int chunk);

        [LoggerMessage(EventId = 3204, Level = LogLevel.Warning, Message = "Title {TitleId}: chunk {Chunk} failed (attempt {Attempt}, final: {Final}): {Error}")]
        public static partial void Failed(ILogger logger, string titleId, int chunk, int attempt, bool final, string error);

        [LoggerMessage(EventId = 3206, Level = LogLevel.Warning, Message = "Stopped {Count} ffmpeg/ffprobe processes left running by a previous worker in the work directory (pids {Pids})")]
        public static partial void LeftoversKilled(ILogger logger, int count, string pids);

        [LoggerMessage(EventId = 3207, Level = LogLevel.Information, Message = "Released {Count} chunk job and title claims of {Owner}, a process on this host that is gone")]
        public static partial void ReleasedDeadClaims(ILogger logger, int count, string owner);

        [LoggerMessage(EventId = 3205, Level = LogLevel.Warning, Message = "The pipeline's job store cannot be reached: {Error}")]
        public static partial void StoreUnavailable(ILogger logger, string error);

        [LoggerMessage(EventId = 3208, Level = LogLevel.Warning, Message = "The pipeline's job store cannot be reached; trying again in {Seconds:F2} s: {Error}")]
        public static partial void StoreUnavailableRetry(ILogger logger, double seconds, string error);

        [LoggerMessage(EventId = 3209, Level = LogLevel.Information, Message = "The pipeline's job store answers again; claiming chunk jobs")]
        public static partial void StoreBack(ILogger logger);
    }
}
