namespace OpenConnect.Appliance.Storage;

/// <summary>Log events of the SSD store (event ids 2100-2199). Counters live on <see cref="SsdStore"/>, not here.</summary>
internal static partial class SsdStoreLog
{
    [LoggerMessage(2100, LogLevel.Information, "SSD store opened at {Directory}: {Recovered} objects from the index, {Reindexed} re-indexed from headers, {Dropped} dropped, {PartFiles} partial writes deleted, in {ElapsedMs} ms")]
    public static partial void Opened(ILogger logger, string directory, int recovered, int reindexed, int dropped, int partFiles, long elapsedMs);

    [LoggerMessage(2101, LogLevel.Warning, "SSD index checkpoint could not be recovered; rebuilding the index from object headers")]
    public static partial void IndexDiscarded(ILogger logger, Exception exception);

    [LoggerMessage(2102, LogLevel.Warning, "SSD write of {Path} failed ({Failures} in a row)")]
    public static partial void WriteFailed(ILogger logger, string path, int failures, Exception exception);

    [LoggerMessage(2103, LogLevel.Warning, "SSD store is unhealthy after {Failures} consecutive write failures")]
    public static partial void Unhealthy(ILogger logger, int failures);

    [LoggerMessage(2104, LogLevel.Information, "SSD store is healthy again")]
    public static partial void HealthyAgain(ILogger logger);

    [LoggerMessage(2105, LogLevel.Warning, "SSD object {KeyHash:x16} dropped: {Reason}")]
    public static partial void ObjectDropped(ILogger logger, ulong keyHash, string reason);

    [LoggerMessage(2106, LogLevel.Warning, "SSD object file {File} could not be deleted")]
    public static partial void DeleteFailed(ILogger logger, string file, Exception exception);

    [LoggerMessage(2107, LogLevel.Warning, "SSD index checkpoint failed")]
    public static partial void CheckpointFailed(ILogger logger, Exception exception);

    [LoggerMessage(2108, LogLevel.Warning, "SSD object {KeyHash:x16} could not be read")]
    public static partial void ReadFailed(ILogger logger, ulong keyHash, Exception exception);

    [LoggerMessage(2109, LogLevel.Debug, "SSD index checkpoint taken in {ElapsedMs} ms (log {LogBytes} bytes)")]
    public static partial void CheckpointTaken(ILogger logger, long elapsedMs, long logBytes);
}
