namespace OpenConnect.Origin.Pipeline;

/// <summary>
/// Runs queued titles one after another (the encodes inside a title run in parallel). On start it
/// picks up every title left queued or processing by a previous run, which resumes after its last
/// recorded step, after stopping the ffmpeg processes a killed predecessor left running
/// (<see cref="LeftoverTools"/>).
/// </summary>
public sealed partial class PipelineWorker(TitleStore store, TitleProcessor processor, PipelineSignal signal, PipelineMetrics metrics, PipelinePaths paths, ILogger<PipelineWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var leftovers = LeftoverTools.Kill(paths.WorkRoot);
        if (leftovers.Count > 0)
        {
            Log.LeftoversKilled(logger, leftovers.Count, string.Join(", ", leftovers));
        }

        metrics.Refresh(store);
        while (!stoppingToken.IsCancellationRequested)
        {
            var next = store.Unfinished().FirstOrDefault();
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

            try
            {
                Log.Starting(logger, next.Id, next.State);
                await processor.RunAsync(next.Id, stoppingToken);
                Log.Published(logger, next.Id);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                var reason = ex is StepFailedException ? ex.Message : $"internal error: {ex.Message}";
                Log.Failed(logger, next.Id, reason);
                store.SetState(next.Id, TitleStates.Failed, reason);
                metrics.Refresh(store);
            }
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

        [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Stopped {Count} ffmpeg/ffprobe processes left running by a previous origin in its work directory (pids {Pids})")]
        public static partial void LeftoversKilled(ILogger logger, int count, string pids);
    }
}
