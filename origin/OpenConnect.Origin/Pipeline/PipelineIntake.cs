using System.Security.Cryptography;
using OpenConnect.Contracts.Content;
using OpenConnect.Origin.Pipeline.Jobs;

namespace OpenConnect.Origin.Pipeline;

/// <summary>
/// Accepts completed uploads: probes them, holds the source to the upload's duration limits,
/// records the title (rejected with a reason, or queued), moves an accepted source into the title's
/// work directory and wakes the worker. Submissions run one at a time, so two sources of one
/// uploader cannot both fit the daily duration that only one fits.
/// </summary>
public sealed class PipelineIntake(JobStore store, PipelinePaths paths, SourceProbe probe, PipelineSignal signal, PipelineMetrics metrics, PipelineTraces traces) : IPipelineIntake
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public int Backlog
    {
        get
        {
            var counts = store.CountByState();
            return counts[TitleStates.Queued] + counts[TitleStates.Processing];
        }
    }

    public async Task<TitleSubmission> SubmitAsync(SourceUpload upload, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(upload.UploadId);
        using var activity = PipelineTraces.StartIngest(upload.UploadId);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (store.GetByUpload(upload.UploadId) is { } existing)
            {
                return new TitleSubmission(existing.Id, existing.State, existing.Reason);
            }

            var result = File.Exists(upload.SourcePath)
                ? await probe.ProbeAsync(upload.SourcePath, cancellationToken)
                : new ProbeResult(null, "the uploaded file does not exist", "");
            var id = NewTitleId();
            if (result.Source is not null && upload.Limits is { } limits)
            {
                var rejection = OverLimit(result.Source, upload, limits);
                if (rejection is not null)
                {
                    result = result with { Source = null, Rejection = rejection };
                }
            }

            if (result.Source is null)
            {
                store.Insert(id, upload.UploadId, TitleStates.Rejected, result.Rejection, upload.Metadata, upload.SourcePath, null, null);
                metrics.Refresh(store);
                return new TitleSubmission(id, TitleStates.Rejected, result.Rejection);
            }

            // Recorded first, then moved: a crash in between leaves a queued title whose probe step
            // finds the file still at the upload path and moves it then.
            var sourceFile = paths.Source(id, result.Extension);
            store.Insert(id, upload.UploadId, TitleStates.Queued, null, upload.Metadata, upload.SourcePath, sourceFile, result.Source);
            Directory.CreateDirectory(paths.Work(id));
            File.Move(upload.SourcePath, sourceFile);
            metrics.Refresh(store);
            traces.Remember(id, activity);
            signal.Wake();
            return new TitleSubmission(id, TitleStates.Queued, null);
        }
        finally
        {
            _gate.Release();
        }
    }

    public UploaderUsage Usage(string uploaderId, DateTimeOffset since) => store.UsageOf(uploaderId, since);

    /// <summary>Why a probed source is over its upload's duration limits, or null when it fits.</summary>
    private string? OverLimit(SourceInfo source, SourceUpload upload, SourceLimits limits)
    {
        var duration = TimeSpan.FromSeconds(source.DurationSeconds);
        if (duration > limits.MaxDuration)
        {
            return $"the source is {Describe(duration)} long, over the limit of {Describe(limits.MaxDuration)} per title";
        }

        if (limits.MaxDurationPerWindow == TimeSpan.MaxValue)
        {
            return null; // no total to keep (an upload without an uploader): no usage query
        }

        var uploader = upload.Metadata.TryGetValue(CatalogSync.UploaderKey, out var u) ? u : "";
        var used = store.UsageWithin(uploader, limits.Window).SourceDuration;
        if (used + duration > limits.MaxDurationPerWindow)
        {
            return $"the source is {Describe(duration)} long; with the {Describe(used)} of video accepted from this uploader in the last {Describe(limits.Window)} "
                + $"that is over the limit of {Describe(limits.MaxDurationPerWindow)} per uploader in {Describe(limits.Window)}";
        }

        return null;
    }

    /// <summary>A duration as people read it: "3.2 s", "12 min", "4 h", "1 h 30 min".</summary>
    internal static string Describe(TimeSpan duration)
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        if (duration < TimeSpan.FromMinutes(1))
        {
            return duration.TotalSeconds.ToString("0.#", c) + " s";
        }

        if (duration < TimeSpan.FromHours(1))
        {
            return duration.TotalMinutes.ToString("0.#", c) + " min";
        }

        var hours = (int)duration.TotalHours;
        var minutes = duration.Minutes;
        return minutes == 0 ? $"{hours} h" : $"{hours} h {minutes} min";
    }

    /// <summary>An 11-character url-safe id (64 random bits), valid as a <see cref="ContentKey"/> title id.</summary>
    public static string NewTitleId()
    {
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);
        var id = Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return ContentKey.IsValidTitleId(id) ? id : throw new InvalidOperationException("generated an invalid title id");
    }
}

/// <summary>Where the pipeline keeps its files below the data directory.</summary>
public sealed class PipelinePaths(string dataDirectory)
{
    public string DataDirectory { get; } = Path.GetFullPath(dataDirectory);

    public string Database => Path.Combine(DataDirectory, "pipeline.db");

    /// <summary>The directory holding every title's work directory.</summary>
    public string WorkRoot => Path.Combine(DataDirectory, "work");

    public string Work(string titleId) => Path.Combine(WorkRoot, titleId);

    public string Source(string titleId, string extension) => Path.Combine(Work(titleId), "source." + extension);

    public string Package(string titleId) => Path.Combine(Work(titleId), "package");
}

/// <summary>Wakes the worker when a title is queued.</summary>
public sealed class PipelineSignal
{
    private readonly SemaphoreSlim _signal = new(0, int.MaxValue);

    public void Wake() => _signal.Release();

    public Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);
}
