using Microsoft.Extensions.Options;

namespace OpenConnect.Origin.Ingest;

/// <summary>
/// Two loops on the host's <see cref="TimeProvider"/>: the sweeper deletes the data of expired
/// incomplete uploads (their records stay as tombstones, so requests get 410), and the retry loop
/// submits delayed uploads once the backlog drops. The retry loop also finishes work a restart
/// interrupted: complete uploads not yet submitted, submissions in flight, final uploads whose
/// parts are all in. Both run once at start.
/// </summary>
public sealed class IngestBackground(
    UploadStore store,
    UploadCompletion completion,
    IOptions<OriginOptions> options,
    TimeProvider time,
    IngestMetrics metrics,
    ILogger<IngestBackground> logger) : BackgroundService
{
    private readonly IngestOptions _options = options.Value.Ingest;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(
            LoopAsync(_options.SweepInterval, SweepAsync, stoppingToken),
            LoopAsync(_options.DelayedRetryInterval, RetryAsync, stoppingToken));

    private async Task LoopAsync(TimeSpan period, Func<CancellationToken, Task> work, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(period, time);
        do
        {
            try
            {
                await work(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                IngestLog.BackgroundFailed(logger, ex);
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Deletes the data of every incomplete upload past its expiry.</summary>
    public Task SweepAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        foreach (var entry in store.Entries)
        {
            var record = entry.Current;
            var incomplete = record.State == UploadStates.Uploading || (record.IsPartial && record.State == UploadStates.Complete);
            if (!incomplete || now < record.ExpiresAt || !entry.Gate.Wait(0, CancellationToken.None))
            {
                continue;
            }

            try
            {
                record = entry.Current;
                if (record.State is UploadStates.Uploading or UploadStates.Complete && now >= record.ExpiresAt)
                {
                    if (!record.IsFinal)
                    {
                        store.DeleteBody(record.Id);
                    }

                    store.Commit(entry, record with { State = UploadStates.Expired });
                    metrics.Expired.Inc();
                    IngestLog.Expired(logger, record.Id);
                }
            }
            finally
            {
                entry.Gate.Release();
            }
        }

        return Task.CompletedTask;
    }

    private async Task RetryAsync(CancellationToken cancellationToken)
    {
        foreach (var entry in store.Entries)
        {
            var record = entry.Current;
            if (record.IsFinal && record.State == UploadStates.Uploading)
            {
                await completion.TryAssembleAsync(entry, cancellationToken);
                continue;
            }

            var pending = record.State is UploadStates.Delayed or UploadStates.Submitting
                || (record.State == UploadStates.Uploading && record.IsComplete);
            if (!pending || !entry.Gate.Wait(0, CancellationToken.None))
            {
                continue;
            }

            try
            {
                record = entry.Current;
                if (record.State == UploadStates.Uploading && record.IsComplete)
                {
                    await completion.OnCompletedAsync(entry, cancellationToken);
                }
                else if (record.State is UploadStates.Delayed or UploadStates.Submitting)
                {
                    await completion.RetryAsync(entry, cancellationToken);
                }
            }
            finally
            {
                entry.Gate.Release();
            }
        }

        completion.UpdateDelayedGauge();
    }
}
