using OpenConnect.Origin.Pipeline.Jobs;

namespace OpenConnect.Origin.Pipeline;

/// <summary>
/// Runs queued titles one after another (the encodes inside a title run in parallel), taking turns
/// between uploaders: the next title is the oldest one of the uploader served least recently, so a
/// title never waits behind more than one title of each other uploader with work queued (FIFO made
/// it wait for every title queued before it, all of one uploader's backlog share). On start it
/// picks up every title left queued or processing by a previous run, which resumes after its last
/// recorded step (processing ones first), after stopping the ffmpeg processes a killed predecessor
/// left running (<see cref="LeftoverTools"/>). A title is claimed in the job store before it runs (a
/// lease renewed while it runs, as for chunk jobs), so origins sharing one PostgreSQL store never run
/// a title twice, and a title whose origin died is taken over when its claim runs out.
/// </summary>
public sealed partial class PipelineWorker(
    JobStore store,
    TitleProcessor processor,
    ChunkTransfer transfer,
    PipelineSignal signal,
    PipelineMetrics metrics,
    PipelineTraces traces,
    PipelinePaths paths,
    Microsoft.Extensions.Options.IOptions<OriginOptions> options,
    TimeProvider time,
    ILogger<PipelineWorker> logger) : BackgroundService
{
    private readonly TimeSpan _lease = options.Value.Pipeline.ChunkLease;
    private readonly string _owner = ChunkWorker.OwnerPrefix + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) + "/titles";

    /// <summary>Uploaders remembered for turn-taking before the least recently served idle ones are forgotten.</summary>
    private const int MaxRememberedUploaders = 4096;

    /// <summary>Per uploader, the turn (a running count) at which a title of theirs was last started.</summary>
    private readonly Dictionary<string, long> _lastServed = new(StringComparer.Ordinal);
    private long _turn;

    /// <summary>
    /// The title to run next: one left processing (a resumed run) first, otherwise the oldest queued
    /// title of the uploader whose last turn is the oldest (never served counts as oldest);
    /// <paramref name="unfinished"/> is oldest first. Null when nothing is waiting.
    /// </summary>
    internal static TitleRecord? PickNext(IReadOnlyList<TitleRecord> unfinished, IReadOnlyDictionary<string, long> lastServed)
    {
        TitleRecord? best = null;
        var bestTurn = long.MaxValue;
        foreach (var title in unfinished)
        {
            if (title.State == TitleStates.Processing)
            {
                return title;
            }

            var turn = lastServed.TryGetValue(UploaderOf(title), out var served) ? served : -1;
            if (turn < bestTurn)
            {
                best = title;
                bestTurn = turn;
            }
        }

        return best;
    }

    internal static string UploaderOf(TitleRecord title) =>
        title.Metadata.TryGetValue(CatalogSync.UploaderKey, out var uploader) ? uploader : "";

    private void Served(TitleRecord title, IReadOnlyList<TitleRecord> unfinished)
    {
        _lastServed[UploaderOf(title)] = ++_turn;
        if (_lastServed.Count <= MaxRememberedUploaders)
        {
            return;
        }

        // Forgetting the longest-idle uploaders keeps their order: forgotten counts as served first.
        var waiting = unfinished.Select(UploaderOf).ToHashSet(StringComparer.Ordinal);
        foreach (var (uploader, _) in _lastServed.Where(e => !waiting.Contains(e.Key)).OrderBy(e => e.Value).Take(_lastServed.Count - (MaxRememberedUploaders / 2)).ToList())
        {
            _lastServed.Remove(uploader);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var leftovers = LeftoverTools.Kill(paths.WorkRoot);
        if (leftovers.Count > 0)
        {
            Log.LeftoversKilled(logger, leftovers.Count, string.Join(", ", leftovers));
        }

        var backoff = new StoreBackoff(TimeSpan.FromMilliseconds(250), StoreBackoff.Max);
        while (!stoppingToken.IsCancellationRequested)
        {
            TitleRecord? next;
            IReadOnlyList<TitleRecord> unfinished;
            try
            {
                metrics.Refresh(store);
                unfinished = store.Unfinished();
                next = ClaimNext(unfinished);
                backoff.Reset();
            }
            catch (Exception ex) when (LeaseRenewal.IsOutage(ex))
            {
                if (!await WaitOutOutageAsync(backoff, ex, stoppingToken))
                {
                    return;
                }

                continue;
            }

            if (next is null)
            {
                try
                {
                    await signal.WaitAsync(TimeSpan.FromSeconds(5), stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            Served(next, unfinished);
            using var lost = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            using var renewing = new CancellationTokenSource();
            var renewal = LeaseRenewal.RunAsync(() => store.RenewTitle(next.Id, _owner, _lease), _lease, time, lost, _ => { }, renewing.Token);
            using var activity = traces.StartRun(next.Id);
            Exception? outage = null;
            try
            {
                Log.Starting(logger, next.Id, next.State);
                await processor.RunAsync(next.Id, lost.Token);
                Log.Published(logger, next.Id);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (OperationCanceledException) when (lost.IsCancellationRequested)
            {
                // Another origin on the store took the title after this one's claim ran out (or the
                // store was down for longer than the claim: this origin claims it again below).
                Log.TitleLost(logger, next.Id);
            }
            catch (Exception ex) when (LeaseRenewal.IsOutage(ex))
            {
                outage = ex;
            }
            catch (Exception ex)
            {
                var reason = ex is StepFailedException ? ex.Message : $"internal error: {ex.Message}";
                Log.Failed(logger, next.Id, reason);
                activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, reason);
                try
                {
                    store.WithdrawChunks(next.Id);
                    store.SetState(next.Id, TitleStates.Failed, reason);
                    metrics.Refresh(store);
                }
                catch (Exception storeError) when (LeaseRenewal.IsOutage(storeError))
                {
                    // Not recorded: the title is still processing and is resumed (and fails again) once the store is back.
                    outage = storeError;
                }

                if (outage is null)
                {
                    await transfer.DeleteTitleAsync(next.Id);
                }
            }
            finally
            {
                await renewing.CancelAsync();
                await renewal;
                Release(next.Id);
            }

            if (outage is not null && !await WaitOutOutageAsync(backoff, outage, stoppingToken))
            {
                return;
            }
        }
    }

    /// <summary>Logs a job store outage and waits the backoff's next bound; false when stopping.</summary>
    private async Task<bool> WaitOutOutageAsync(StoreBackoff backoff, Exception ex, CancellationToken stoppingToken)
    {
        var wait = backoff.Next();
        Log.StoreUnavailable(logger, wait.TotalSeconds, ex.Message);
        store.ForgetConnections();
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

    /// <summary>
    /// The title to run next (<see cref="PickNext"/>) among those this process can claim: a title
    /// another origin on the same store coordinates is skipped until that origin's claim runs out.
    /// </summary>
    private TitleRecord? ClaimNext(IReadOnlyList<TitleRecord> unfinished)
    {
        var candidates = unfinished.ToList();
        while (PickNext(candidates, _lastServed) is { } next)
        {
            if (store.ClaimTitle(next.Id, _owner, _lease))
            {
                return next;
            }

            candidates.Remove(next);
        }

        return null;
    }

    /// <summary>Gives the title up so another origin can take it at once (a title that ended is no longer claimable anyway).</summary>
    private void Release(string titleId)
    {
        try
        {
            store.ReleaseTitle(titleId, _owner);
        }
        catch (Exception ex) when (LeaseRenewal.IsStoreUnavailable(ex))
        {
            // The claim runs out on its own.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Title {TitleId}: processing ({State})")]
        public static partial void Starting(ILogger logger, string titleId, string state);

        [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Title {TitleId}: published")]
        public static partial void Published(ILogger logger, string titleId);

        [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Title {TitleId}: failed: {Reason}")]
        public static partial void Failed(ILogger logger, string titleId, string reason);

        [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Title {TitleId}: another origin took it over (this one's claim ran out); stopped running it")]
        public static partial void TitleLost(ILogger logger, string titleId);

        [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "The pipeline's job store cannot be reached; the title in hand resumes once it answers (next try in {Seconds:F2} s): {Error}")]
        public static partial void StoreUnavailable(ILogger logger, double seconds, string error);

        [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Stopped {Count} ffmpeg/ffprobe processes left running by a previous origin in its work directory (pids {Pids})")]
        public static partial void LeftoversKilled(ILogger logger, int count, string pids);
    }
}
