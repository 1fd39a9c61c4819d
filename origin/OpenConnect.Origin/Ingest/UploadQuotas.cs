using System.Globalization;
using Microsoft.Extensions.Options;
using OpenConnect.Origin.Pipeline;

namespace OpenConnect.Origin.Ingest;

/// <summary>Why a request is refused by a quota: the HTTP status, the message, and when to retry (if known).</summary>
public sealed record QuotaRefusal(int Status, string Message, TimeSpan? RetryAfter);

/// <summary>
/// The per-uploader quotas (<see cref="IngestOptions"/>), checked when an upload is created:
/// unfinished uploads (count and bytes, from the upload store), titles and source duration in the
/// last 24 hours, and the uploader's share of the pipeline's backlog (from the intake). Only
/// uploads with an uploader (a bearer token) are held to them. The duration limits are checked
/// again by the pipeline when it probes the source (<see cref="SourceLimits"/>), since only then is
/// the duration known.
/// </summary>
public sealed class UploadQuotas(IUploadStore store, IServiceProvider services, IOptions<OriginOptions> options, TimeProvider time)
{
    /// <summary>The per-day quotas count over a rolling window, not a calendar day: no burst at midnight, and Retry-After is exact.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromHours(24);

    private readonly IngestOptions _options = options.Value.Ingest;

    /// <summary>One uploader's unfinished uploads: how many count against the in-flight limit, their bytes, and how many will become titles.</summary>
    public readonly record struct InFlight(int Uploads, long Bytes, int Titles);

    private IPipelineIntake? Intake => services.GetService<IPipelineIntake>();

    /// <summary>
    /// Unfinished, unexpired uploads of <paramref name="uploaderId"/>. A final upload still waiting
    /// for its parts counts as a title only (its parts hold the bytes); a partial upload counts as
    /// an upload and its bytes but not as a title. <paramref name="except"/> leaves one upload out.
    /// </summary>
    public InFlight InFlightOf(string uploaderId, string? except = null)
    {
        var now = time.GetUtcNow();
        int uploads = 0, titles = 0;
        long bytes = 0;
        foreach (var entry in store.Entries)
        {
            var record = entry.Current;
            if (record.IsOver || record.IsGoneAt(now) || record.Id == except || !string.Equals(record.UploaderId, uploaderId, StringComparison.Ordinal))
            {
                continue;
            }

            if (!record.IsPartial)
            {
                titles++;
            }

            if (record.IsFinal && record.State == UploadStates.Uploading)
            {
                continue;
            }

            uploads++;
            bytes += record.Length ?? record.Offset;
        }

        return new InFlight(uploads, bytes, titles);
    }

    /// <summary>What the pipeline holds of the uploader: backlog, and titles and duration in the last <see cref="Window"/>.</summary>
    public UploaderUsage PipelineUsageOf(string uploaderId) =>
        Intake?.Usage(uploaderId, time.GetUtcNow() - Window) ?? UploaderUsage.None;

    /// <summary>Checks a new upload of <paramref name="concat"/> kind and (when known) <paramref name="length"/> against the uploader's quotas; null when it fits.</summary>
    public QuotaRefusal? CheckCreation(string uploaderId, string concat, long? length)
    {
        var inFlight = InFlightOf(uploaderId);
        if (concat != ConcatKind.Final)
        {
            if (inFlight.Uploads >= _options.MaxUploadsInFlightPerUploader)
            {
                return new QuotaRefusal(
                    StatusCodes.Status429TooManyRequests,
                    $"this uploader has {inFlight.Uploads} unfinished uploads, the most allowed at once; finish one or delete it (DELETE its upload URL) before creating another",
                    null);
            }

            if (length is { } l && inFlight.Bytes + l > _options.MaxBytesInFlightPerUploader)
            {
                return BytesRefusal(l, inFlight.Bytes);
            }
        }

        if (concat == ConcatKind.Partial)
        {
            return null;
        }

        var usage = PipelineUsageOf(uploaderId);
        var now = time.GetUtcNow();
        var titles = usage.Titles + inFlight.Titles;
        if (titles >= _options.MaxTitlesPerDayPerUploader)
        {
            var retry = WindowFrees(usage, now);
            return new QuotaRefusal(
                StatusCodes.Status429TooManyRequests,
                $"this uploader started {titles} titles in the last 24 h, the limit per uploader is {_options.MaxTitlesPerDayPerUploader}{RetryText(retry)}",
                retry);
        }

        if (usage.SourceDuration >= _options.MaxSourceDurationPerDayPerUploader)
        {
            var retry = WindowFrees(usage, now);
            return new QuotaRefusal(
                StatusCodes.Status429TooManyRequests,
                $"this uploader's sources accepted in the last 24 h last {PipelineIntake.Describe(usage.SourceDuration)}, the limit per uploader is {PipelineIntake.Describe(_options.MaxSourceDurationPerDayPerUploader)}{RetryText(retry)}",
                retry);
        }

        var share = _options.EffectiveBacklogPerUploader;
        if (usage.Backlog >= share)
        {
            var retry = TimeSpan.FromSeconds(_options.RetryAfterSeconds);
            return new QuotaRefusal(
                StatusCodes.Status429TooManyRequests,
                $"{usage.Backlog} titles of this uploader are waiting for the transcoder, the most one uploader may have queued is {share}{RetryText(retry)}",
                retry);
        }

        return null;
    }

    /// <summary>Checks a deferred length declared later (PATCH <c>Upload-Length</c>) against the bytes in flight; null when it fits.</summary>
    public QuotaRefusal? CheckDeclaredLength(UploadRecord record, long length)
    {
        if (record.UploaderId is not { } uploader)
        {
            return null;
        }

        var others = InFlightOf(uploader, except: record.Id).Bytes;
        return others + length > _options.MaxBytesInFlightPerUploader ? BytesRefusal(length, others) : null;
    }

    /// <summary>The most bytes a deferred-length upload may still grow to under its uploader's in-flight bytes (its own offset included).</summary>
    public long DeferredLengthCap(UploadRecord record)
    {
        if (record.UploaderId is not { } uploader)
        {
            return _options.MaxUploadBytes;
        }

        var others = InFlightOf(uploader, except: record.Id).Bytes;
        return Math.Max(record.Offset, Math.Min(_options.MaxUploadBytes, _options.MaxBytesInFlightPerUploader - others));
    }

    /// <summary>
    /// Whether a completed upload of this uploader must wait because their titles already fill their
    /// share of the backlog; the reason says so. Null when it may be submitted.
    /// </summary>
    public string? BacklogShareFull(string? uploaderId)
    {
        if (uploaderId is null)
        {
            return null;
        }

        var backlog = PipelineUsageOf(uploaderId).Backlog;
        var share = _options.EffectiveBacklogPerUploader;
        return backlog >= share
            ? $"waiting: {backlog} titles of this uploader are queued for the transcoder, the most one uploader may have queued is {share}"
            : null;
    }

    /// <summary>The duration limits the pipeline checks at probe time; without an uploader only the per-title limit applies.</summary>
    public SourceLimits LimitsFor(string? uploaderId) => new(
        _options.MaxSourceDuration,
        uploaderId is null ? TimeSpan.MaxValue : _options.MaxSourceDurationPerDayPerUploader,
        Window);

    private QuotaRefusal BytesRefusal(long length, long inFlight) => new(
        StatusCodes.Status413PayloadTooLarge,
        $"Upload-Length {length} with the {inFlight} bytes of this uploader's unfinished uploads is over the limit of {_options.MaxBytesInFlightPerUploader} bytes in flight per uploader; finish or delete an upload first",
        null);

    /// <summary>When the oldest title leaves the rolling window; null when the window holds none (only unfinished uploads count).</summary>
    private static TimeSpan? WindowFrees(UploaderUsage usage, DateTimeOffset now) =>
        usage.OldestTitleAt is { } oldest ? Max(oldest + Window - now, TimeSpan.FromSeconds(1)) : null;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static string RetryText(TimeSpan? retry) =>
        retry is { } r ? "; retry after " + Math.Ceiling(r.TotalSeconds).ToString(CultureInfo.InvariantCulture) + " s" : "";
}
