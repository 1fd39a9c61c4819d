namespace OpenConnect.Origin.Pipeline;

/// <summary>
/// Where ingest hands a completed upload. The pipeline validates the file (ffprobe), creates the
/// title and schedules its processing.
/// </summary>
public interface IPipelineIntake
{
    /// <summary>Titles accepted and not finished yet (queued, delayed or processing): what backpressure looks at.</summary>
    int Backlog { get; }

    /// <summary>
    /// Validates and accepts a source file. When it accepts, the pipeline moves the file into its
    /// own work directory (the caller must not touch it afterwards); when it rejects, the file stays
    /// where it was and the result carries the reason, which is also recorded on the title.
    /// Calling it again for the same upload id returns the first result (idempotent).
    /// </summary>
    Task<TitleSubmission> SubmitAsync(SourceUpload upload, CancellationToken cancellationToken);

    /// <summary>
    /// What one uploader (the <c>uploader_id</c> metadata of their titles) has in the pipeline: their
    /// titles in the backlog now, and the titles recorded since <paramref name="since"/> (rejected
    /// ones included) with the total duration of the accepted sources among them.
    /// </summary>
    UploaderUsage Usage(string uploaderId, DateTimeOffset since);
}

/// <summary>
/// A completed upload: its id, the file holding its bytes, its <c>Upload-Metadata</c> (title,
/// description, tags, filename) and the duration limits its source is held to at probe time.
/// </summary>
public sealed record SourceUpload(string UploadId, string SourcePath, IReadOnlyDictionary<string, string> Metadata, SourceLimits? Limits = null);

/// <summary>
/// Duration limits checked when the source is probed: the longest source, and the total duration
/// one uploader's accepted sources may reach in <paramref name="Window"/> (rolling) with this one.
/// </summary>
public sealed record SourceLimits(TimeSpan MaxDuration, TimeSpan MaxDurationPerWindow, TimeSpan Window);

/// <summary>One uploader's share of the pipeline: titles in the backlog, titles recorded in a time window, the oldest of those and the accepted source duration among them.</summary>
public sealed record UploaderUsage(int Backlog, int Titles, DateTimeOffset? OldestTitleAt, TimeSpan SourceDuration)
{
    public static UploaderUsage None { get; } = new(0, 0, null, TimeSpan.Zero);
}

/// <summary>What became of a submission: the title id and its state (<c>queued</c>, <c>delayed</c>, <c>rejected</c>, …) with the reason when rejected.</summary>
public sealed record TitleSubmission(string TitleId, string State, string? Reason)
{
    public bool Accepted => State != "rejected";
}
