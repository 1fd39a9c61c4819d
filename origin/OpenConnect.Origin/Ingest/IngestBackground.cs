using Microsoft.Extensions.Options;

namespace OpenConnect.Origin.Ingest;

/// <summary>
/// Two loops on the host's <see cref="TimeProvider"/>: the sweeper deletes the data of expired and
/// abandoned incomplete uploads (their records stay as tombstones for <c>RecordRetention</c>, so
/// requests get 410, then go from disk and memory with the records of finished uploads), and the retry loop
/// submits delayed uploads once the backlog drops. The retry loop also finishes work a restart
/// interrupted: complete uploads not yet submitted, submissions in flight, final uploads whose
/// parts are all in. Both run once at start.
/// </summary>
public sealed class IngestBackground(
    IUploadStore store,
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

    /// <summary>
    /// Deletes the data of every incomplete upload past its expiry (an abandoned one, which never
    /// received a byte, expires <c>AbandonAfter</c> after its creation) and keeps its record as a
    /// tombstone (410); removes from disk and memory every record that has been over (expired,
    /// handed to the pipeline, concatenated) for <c>RecordRetention</c> (then 404).
    /// </summary>
    public async Task SweepAsync(CancellationToken cancellationToken)
    {
        await store.RefreshAsync(cancellationToken);
        var now = time.GetUtcNow();
        foreach (var entry in store.Entries.ToArray())
        {
            var record = entry.Current;
            var expire = record.State != UploadStates.Expired && record.IsGoneAt(now);
            var remove = record.IsOver && now >= (record.FinishedAt ?? record.ExpiresAt) + _options.RecordRetention;
            if (!expire && !remove)
            {
                continue;
            }

            await using var held = await store.TryLockAsync(entry);
            if (held is null)
            {
                continue;
            }

            record = entry.Current;
            if (record.State != UploadStates.Expired && record.IsGoneAt(now))
            {
                await ExpireAsync(entry, record, now);
            }
            else if (record.IsOver && now >= (record.FinishedAt ?? record.ExpiresAt) + _options.RecordRetention)
            {
                await store.DeleteAsync(record.Id);
                metrics.Removed.Inc();
                IngestLog.Removed(logger, record.Id, record.State, record.FinishedAt ?? record.ExpiresAt);
            }
        }
    }

    private async Task ExpireAsync(UploadEntry entry, UploadRecord record, DateTimeOffset now)
    {
        if (!record.IsFinal)
        {
            await store.DeleteBodyAsync(record.Id);
        }

        var abandoned = record.Offset == 0 && !record.IsFinal && record.Length is not 0;
        var reason = abandoned
            ? $"abandoned: no byte arrived within {_options.AbandonAfter} of its creation"
            : $"expired: no byte arrived within {_options.Expiration} of the last write";
        await store.CommitAsync(entry, record with { State = UploadStates.Expired, Reason = reason, FinishedAt = now });
        metrics.Expired.WithLabels(abandoned ? "abandoned" : "expired").Inc();
        if (abandoned)
        {
            IngestLog.Abandoned(logger, record.Id, _options.AbandonAfter);
        }
        else
        {
            IngestLog.Expired(logger, record.Id);
        }
    }

    private async Task RetryAsync(CancellationToken cancellationToken)
    {
        await store.RefreshAsync(cancellationToken);
        foreach (var entry in store.Entries.ToArray())
        {
            var record = entry.Current;
            if (record.IsFinal && record.State == UploadStates.Uploading)
            {
                await completion.TryAssembleAsync(entry, cancellationToken);
                continue;
            }

            var pending = record.State is UploadStates.Delayed or UploadStates.Submitting
                || (record.State == UploadStates.Uploading && record.IsComplete);
            if (!pending)
            {
                continue;
            }

            await using var held = await store.TryLockAsync(entry);
            if (held is null)
            {
                continue;
            }

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

        completion.UpdateDelayedGauge();
    }
}
