namespace OpenConnect.Origin.Ingest;

internal static partial class IngestLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Upload {UploadId} created (length {Length}, concat {Concat})")]
    public static partial void Created(ILogger logger, string uploadId, long? length, string concat);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Upload {UploadId} complete ({Length} bytes)")]
    public static partial void Completed(ILogger logger, string uploadId, long length);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "Upload {UploadId} submitted: title {TitleId} state {State} reason {Reason}")]
    public static partial void Submitted(ILogger logger, string uploadId, string titleId, string state, string? reason);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "Upload {UploadId} delayed: pipeline backlog {Backlog} is at the limit {MaxBacklog}")]
    public static partial void Delayed(ILogger logger, string uploadId, int backlog, int maxBacklog);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Error, Message = "Upload {UploadId} could not be submitted to the pipeline; it stays delayed and is retried")]
    public static partial void SubmitFailed(ILogger logger, string uploadId, Exception exception);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Error, Message = "No IPipelineIntake is registered: completed uploads cannot be handed to the pipeline")]
    public static partial void NoIntake(ILogger logger);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Information, Message = "Upload {UploadId} expired; its data was deleted")]
    public static partial void Expired(ILogger logger, string uploadId);

    [LoggerMessage(EventId = 4008, Level = LogLevel.Information, Message = "Upload {UploadId}: PATCH interrupted after {Bytes} bytes; {Kept}")]
    public static partial void Interrupted(ILogger logger, string uploadId, long bytes, string kept);

    [LoggerMessage(EventId = 4009, Level = LogLevel.Error, Message = "Ingest background task failed")]
    public static partial void BackgroundFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Information, Message = "Upload {UploadId} delayed: {Reason}")]
    public static partial void DelayedForShare(ILogger logger, string uploadId, string reason);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Information, Message = "Upload {UploadId} abandoned: no byte arrived within {AbandonAfter}; it was deleted")]
    public static partial void Abandoned(ILogger logger, string uploadId, TimeSpan abandonAfter);

    [LoggerMessage(EventId = 4013, Level = LogLevel.Debug, Message = "Upload {UploadId} record removed ({State}, over since {FinishedAt})")]
    public static partial void Removed(ILogger logger, string uploadId, string state, DateTimeOffset finishedAt);

    [LoggerMessage(EventId = 4014, Level = LogLevel.Warning, Message = "Upload {UploadId}: the upload store could not answer")]
    public static partial void StoreUnavailable(ILogger logger, string uploadId, Exception exception);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Warning, Message = "Final upload {UploadId} cannot be assembled: {Reason}")]
    public static partial void AssemblyFailed(ILogger logger, string uploadId, string reason);
}
