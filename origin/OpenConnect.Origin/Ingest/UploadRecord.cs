using System.Text.Json.Serialization;

namespace OpenConnect.Origin.Ingest;

/// <summary>
/// One upload as persisted in its info file. Immutable: every change writes a new info file and
/// swaps the record in memory, so readers (HEAD, the status API) always see a committed state.
/// </summary>
public sealed record UploadRecord
{
    public required string Id { get; init; }

    /// <summary>Total size, or null while the length is deferred (or a final upload's parts are not all sized).</summary>
    public long? Length { get; init; }

    /// <summary>Bytes durably written and acknowledged.</summary>
    public long Offset { get; init; }

    /// <summary>The <c>Upload-Metadata</c> header as received, echoed on HEAD.</summary>
    public string? MetadataHeader { get; init; }

    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary><c>none</c>, <c>partial</c> or <c>final</c> (concatenation extension).</summary>
    public string Concat { get; init; } = ConcatKind.None;

    /// <summary>For a final upload: the ids of its partial uploads, in order.</summary>
    public IReadOnlyList<string> Parts { get; init; } = [];

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When an incomplete upload expires; refreshed by every successful write.</summary>
    public DateTimeOffset ExpiresAt { get; init; }

    /// <summary>See <see cref="UploadStates"/>; after submission, the state the pipeline answered.</summary>
    public string State { get; init; } = UploadStates.Uploading;

    public string? TitleId { get; init; }

    public string? Reason { get; init; }

    /// <summary>When the upload was over (expired, handed to the pipeline, concatenated); the record is removed <c>RecordRetention</c> later. Null before, and in records written before it existed (then <see cref="ExpiresAt"/> stands in).</summary>
    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>The user the upload belongs to (from the bearer token at creation); null without tokens.</summary>
    [JsonIgnore]
    public string? UploaderId => Metadata.TryGetValue(CatalogSync.UploaderKey, out var uploader) ? uploader : null;

    /// <summary>Ingest is done with it: expired, concatenated, or handed to the pipeline (which answered).</summary>
    [JsonIgnore]
    public bool IsOver => State is not (UploadStates.Uploading or UploadStates.Complete or UploadStates.Submitting or UploadStates.Delayed);

    [JsonIgnore]
    public bool IsComplete => Length is { } length && Offset == length;

    [JsonIgnore]
    public bool IsFinal => Concat == ConcatKind.Final;

    [JsonIgnore]
    public bool IsPartial => Concat == ConcatKind.Partial;

    /// <summary>Expired: swept, or an incomplete upload (or a partial one waiting for its final upload) past its deadline.</summary>
    public bool IsGoneAt(DateTimeOffset now) =>
        State == UploadStates.Expired
        || (State == UploadStates.Uploading || (IsPartial && State == UploadStates.Complete)) && now >= ExpiresAt;
}

public static class ConcatKind
{
    public const string None = "none";
    public const string Partial = "partial";
    public const string Final = "final";
}

/// <summary>Upload states owned by ingest; once submitted, the upload carries the pipeline's state instead (<c>queued</c>, <c>rejected</c>, …).</summary>
public static class UploadStates
{
    /// <summary>Bytes are still expected.</summary>
    public const string Uploading = "uploading";

    /// <summary>All bytes are in; a partial upload waits to be concatenated, a final one to be assembled.</summary>
    public const string Complete = "complete";

    /// <summary>Handed to the pipeline; persisted before the call so a restart submits again (the intake is idempotent).</summary>
    public const string Submitting = "submitting";

    /// <summary>Complete, held back because the pipeline's backlog is full; submitted when it drops.</summary>
    public const string Delayed = "delayed";

    /// <summary>A partial upload whose bytes were moved into its final upload.</summary>
    public const string Concatenated = "concatenated";

    /// <summary>Expired before completion; the data is deleted, requests get 410.</summary>
    public const string Expired = "expired";

    public const string Rejected = "rejected";
}
