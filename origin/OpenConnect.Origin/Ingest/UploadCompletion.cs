using Microsoft.Extensions.Options;
using OpenConnect.Origin.Pipeline;

namespace OpenConnect.Origin.Ingest;

/// <summary>
/// What happens once an upload's last byte is in: a partial upload waits for its final upload; a
/// final upload is assembled from its parts; any other complete upload is handed to the pipeline,
/// or held in state <c>delayed</c> when the backlog is full and <c>WhenBacklogged</c> is <c>delay</c>.
/// A rejected file is deleted (the record keeps the reason); an accepted one now belongs to the pipeline.
/// </summary>
public sealed class UploadCompletion(
    IUploadStore store,
    UploadQuotas quotas,
    IServiceProvider services,
    IOptions<OriginOptions> options,
    TimeProvider time,
    IngestMetrics metrics,
    ILogger<UploadCompletion> logger)
{
    private readonly IngestOptions _options = options.Value.Ingest;

    public IPipelineIntake? Intake => services.GetService<IPipelineIntake>();

    /// <summary>
    /// True when the intake is needed and missing. Delay mode with <c>MaxBacklog</c> 0 holds every
    /// upload back and never asks the pipeline, so it runs without one (the ingest bench does).
    /// </summary>
    public bool IntakeMissing => Intake is null && !(_options.DelayWhenBacklogged && _options.MaxBacklog == 0);

    /// <summary>Whether the pipeline's backlog is at the limit (with <c>MaxBacklog</c> 0, always).</summary>
    public bool IsBacklogged(out int backlog)
    {
        backlog = Intake?.Backlog ?? 0;
        return _options.MaxBacklog == 0 || backlog >= _options.MaxBacklog;
    }

    /// <summary>Called by the writer holding <paramref name="entry"/>'s lock right after it committed the last byte.</summary>
    public async Task OnCompletedAsync(UploadEntry entry, CancellationToken cancellationToken)
    {
        var record = entry.Current;
        if (record.IsPartial)
        {
            await store.CommitAsync(entry, record with { State = UploadStates.Complete });
            foreach (var final in store.Entries)
            {
                var f = final.Current;
                if (f.IsFinal && f.State == UploadStates.Uploading && f.Parts.Contains(record.Id))
                {
                    await TryAssembleAsync(final, cancellationToken);
                }
            }

            return;
        }

        metrics.Completed.Inc();
        IngestLog.Completed(logger, record.Id, record.Offset);
        await SubmitOrDelayAsync(entry, cancellationToken);
    }

    /// <summary>Builds a final upload from its parts when all of them are complete; a no-op otherwise.</summary>
    public async Task TryAssembleAsync(UploadEntry final, CancellationToken cancellationToken)
    {
        await using (await store.LockAsync(final, cancellationToken))
        {
            var record = final.Current;
            if (record.State != UploadStates.Uploading)
            {
                return;
            }

            var parts = new List<UploadRecord>(record.Parts.Count);
            foreach (var id in record.Parts)
            {
                if (await store.FindAsync(id, cancellationToken) is not { } part || part.Current.State != UploadStates.Complete)
                {
                    return;
                }

                parts.Add(part.Current);
            }

            var length = await store.AssembleAsync(record.Id, parts, cancellationToken);
            await store.CommitAsync(final, record with { Length = length, Offset = length, State = UploadStates.Complete });
            foreach (var part in parts)
            {
                if (await store.FindAsync(part.Id, cancellationToken) is { } partEntry)
                {
                    await store.CommitAsync(partEntry, partEntry.Current with { State = UploadStates.Concatenated, FinishedAt = time.GetUtcNow() });
                    await store.DeleteBodyAsync(part.Id);
                }
            }

            metrics.Completed.Inc();
            IngestLog.Completed(logger, record.Id, length);
            await SubmitOrDelayAsync(final, cancellationToken);
        }
    }

    /// <summary>Offers a delayed (or interrupted) submission again; the caller holds the gate.</summary>
    public Task RetryAsync(UploadEntry entry, CancellationToken cancellationToken) => SubmitOrDelayAsync(entry, cancellationToken);

    private async Task SubmitOrDelayAsync(UploadEntry entry, CancellationToken cancellationToken)
    {
        var record = entry.Current;
        var intake = Intake;
        if (_options.DelayWhenBacklogged && (intake is null || IsBacklogged(out _)))
        {
            if (record.State != UploadStates.Delayed)
            {
                await store.CommitAsync(entry, record with { State = UploadStates.Delayed });
                UpdateDelayedGauge();
                IngestLog.Delayed(logger, record.Id, intake?.Backlog ?? 0, _options.MaxBacklog);
            }

            return;
        }

        // Past their share of the backlog an uploader's completed uploads wait (in either mode: the
        // bytes are in, refusing them now would waste them); the retry loop submits them later.
        if (intake is not null && quotas.BacklogShareFull(record.UploaderId) is { } waiting)
        {
            if (record.State != UploadStates.Delayed || record.Reason != waiting)
            {
                await store.CommitAsync(entry, record with { State = UploadStates.Delayed, Reason = waiting });
                UpdateDelayedGauge();
                IngestLog.DelayedForShare(logger, record.Id, waiting);
            }

            return;
        }

        if (intake is null)
        {
            IngestLog.NoIntake(logger);
            if (record.State != UploadStates.Delayed)
            {
                await store.CommitAsync(entry, record with { State = UploadStates.Delayed, Reason = "no pipeline intake is registered" });
                UpdateDelayedGauge();
            }

            return;
        }

        await store.CommitAsync(entry, record with { State = UploadStates.Submitting, Reason = null });
        TitleSubmission result;
        try
        {
            var source = await store.SourcePathAsync(entry, cancellationToken);
            result = await intake.SubmitAsync(new SourceUpload(record.Id, source, record.Metadata, quotas.LimitsFor(record.UploaderId)), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            IngestLog.SubmitFailed(logger, record.Id, ex);
            await store.CommitAsync(entry, entry.Current with { State = UploadStates.Delayed, Reason = $"submission failed: {ex.Message}" });
            UpdateDelayedGauge();
            return;
        }

        var now = time.GetUtcNow();
        await store.CommitAsync(entry, entry.Current with { TitleId = result.TitleId, State = result.State, Reason = result.Reason, ExpiresAt = now, FinishedAt = now });
        IngestLog.Submitted(logger, record.Id, result.TitleId, result.State, result.Reason);
        if (result.Accepted)
        {
            metrics.Submitted.Inc();
        }
        else
        {
            metrics.Rejected.WithLabels("pipeline").Inc();
            await store.DeleteBodyAsync(record.Id);
        }

        UpdateDelayedGauge();
    }

    public void UpdateDelayedGauge()
    {
        var delayed = 0;
        foreach (var entry in store.Entries)
        {
            if (entry.Current.State == UploadStates.Delayed)
            {
                delayed++;
            }
        }

        metrics.Delayed.Set(delayed);
    }
}
