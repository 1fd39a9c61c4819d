namespace OpenConnect.Origin.Pipeline;

/// <summary>Title states as stored and reported.</summary>
public static class TitleStates
{
    public const string Queued = "queued";
    public const string Processing = "processing";
    public const string Published = "published";
    public const string Failed = "failed";
    public const string Rejected = "rejected";

    public static readonly IReadOnlyList<string> All = [Queued, Processing, Published, Failed, Rejected];
}

/// <summary>What the probe learnt about a source.</summary>
public sealed record SourceInfo(
    string Container,
    double DurationSeconds,
    int Width,
    int Height,
    string VideoCodec,
    double FrameRate,
    string? AudioCodec);

/// <summary>A produced rendition as listed by the titles API.</summary>
public sealed record RenditionInfo(string Name, string Codec, int Width, int Height, int BitrateKbps, string Codecs, long PeakBandwidth, long AverageBandwidth, int Segments);

/// <summary>One title's row.</summary>
public sealed record TitleRecord(
    string Id,
    string UploadId,
    string State,
    string? Step,
    double Percent,
    string? Reason,
    IReadOnlyDictionary<string, string> Metadata,
    string? SourceFile,
    SourceInfo? Source,
    IReadOnlyList<RenditionInfo> Renditions,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? PublishedAt,
    DateTimeOffset? NextAttemptAt)
{
    /// <summary>The upload's metadata key that marks a title protected (value <c>true</c>).</summary>
    public const string ProtectedKey = "protected";

    /// <summary>Packaged as CENC-encrypted CMAF with the title's key (see <c>Pipeline/Cenc</c>).</summary>
    public bool IsProtected => Metadata.GetValueOrDefault(ProtectedKey) == "true";
}

/// <summary>One step's row: how often it was started, when it last started and finished.</summary>
public sealed record StepRecord(string Name, string State, int Attempts, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string? Error);
