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
}

/// <summary>A completed upload: its id, the file holding its bytes, and its <c>Upload-Metadata</c> (title, description, tags, filename).</summary>
public sealed record SourceUpload(string UploadId, string SourcePath, IReadOnlyDictionary<string, string> Metadata);

/// <summary>What became of a submission: the title id and its state (<c>queued</c>, <c>delayed</c>, <c>rejected</c>, …) with the reason when rejected.</summary>
public sealed record TitleSubmission(string TitleId, string State, string? Reason)
{
    public bool Accepted => State != "rejected";
}
