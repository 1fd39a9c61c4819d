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
/// in worker processes (<c>Origin:Role=worker</c>).
/// </summary>
public sealed partial class ChunkWorker(JobStore store, ChunkEncoder encoder, ChunkSignal signal, PipelineMetrics metrics, PipelinePaths paths, IOptions<OriginOptions> options, TimeProvider time, ILogger<ChunkWorker> logger) : BackgroundService
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
        while (!stoppingToken.IsCancellationRequested)
        {
            ChunkLease? claim;
            try
            {
                claim = store.ClaimChunk(owner, _options.ChunkLease, _options.MaxAttempts);
            }
            catch (Exception ex) when (LeaseRenewal.IsStoreUnavailable(ex))
            {
                Log.StoreUnavailable(logger, ex.Message);
                claim = null;
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
        }
    }

    private async Task RunAsync(ChunkLease claim, int threads, CancellationToken stoppingToken)
    {
        var spec = System.Text.Json.JsonSerializer.Deserialize<ChunkJobSpec>(claim.Spec)!;
        var output = spec.OutputDirectory(claim.Token);
        using var lost = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        using var renewing = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var progress = 0.0;
        var renewal = LeaseRenewal.RunAsync(() => store.RenewChunk(claim, _options.ChunkLease, Volatile.Read(ref progress)), _options.ChunkLease, time, lost, ex => Log.StoreUnavailable(logger, ex.Message), renewing.Token);
        var started = Stopwatch.GetTimestamp();
        Log.Claimed(logger, claim.TitleId, claim.Chunk, claim.Attempt);
        try
        {
            await encoder.EncodeAsync(spec, claim.Token, threads, f => Volatile.Write(ref progress, f), lost.Token);
            await renewing.CancelAsync();
            await renewal;
            if (store.CompleteChunk(claim, output))
            {
                metrics.StepSeconds.WithLabels("encode").Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
                return;
            }

            Log.CompletionRefused(logger, claim.TitleId, claim.Chunk);
            encoder.Discard(output);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the lease runs out and another worker (or this one, restarted) claims the job.
            encoder.Discard(output);
        }
        catch (OperationCanceledException) when (lost.IsCancellationRequested)
        {
            Log.LeaseLost(logger, claim.TitleId, claim.Chunk);
            encoder.Discard(output);
        }
        catch (Exception ex)
        {
            await renewing.CancelAsync();
            await renewal;
            encoder.Discard(output);
            metrics.StepFailures.WithLabels("encode").Inc();
            var final = claim.Attempt >= _options.MaxAttempts || ex is FfmpegFailedException { Result.HitLimitForGood: true };
            var delay = _options.RetryDelay * Math.Pow(2, claim.Attempt - 1);
            Log.Failed(logger, claim.TitleId, claim.Chunk, claim.Attempt, final, ex.Message);
            store.FailChunk(claim, ex.Message, final ? null : time.GetUtcNow() + delay);
        }
        finally
        {
            await renewing.CancelAsync();
            await renewal;
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
    }
}
