namespace OpenConnect.Appliance.Fill;

internal static partial class FillLog
{
    [LoggerMessage(EventId = 800, Level = LogLevel.Information, Message = "Fill manifest {Version} for day {Day}: {Files} files; {Unpinned} objects unpinned")]
    public static partial void ManifestApplied(ILogger logger, ulong version, string day, int files, int unpinned);

    [LoggerMessage(EventId = 801, Level = LogLevel.Warning, Message = "Fill controller unreachable; asking again in {Interval}")]
    public static partial void ControllerUnreachable(ILogger logger, TimeSpan interval, Exception exception);

    [LoggerMessage(EventId = 802, Level = LogLevel.Information, Message = "Filled {Title}/{Rendition}: {Objects} objects, {Fetched} fetched ({Bytes} bytes)")]
    public static partial void FileDone(ILogger logger, string title, string rendition, int objects, int fetched, long bytes);

    [LoggerMessage(EventId = 803, Level = LogLevel.Warning, Message = "Fill of {Title}/{Rendition} failed: {Reason}")]
    public static partial void FileFailed(ILogger logger, string title, string rendition, string reason);

    [LoggerMessage(EventId = 804, Level = LogLevel.Warning, Message = "Fill source {Source} failed for {Path}: {Reason}; trying the next source")]
    public static partial void SourceFailed(ILogger logger, string source, string path, string reason);

    [LoggerMessage(EventId = 805, Level = LogLevel.Warning, Message = "Stored fill manifest {File} is unreadable; waiting for the controller's")]
    public static partial void StoredManifestUnreadable(ILogger logger, string file, Exception exception);

    [LoggerMessage(EventId = 806, Level = LogLevel.Warning, Message = "Fill pass stopped; trying again in {Interval}")]
    public static partial void PassFailed(ILogger logger, TimeSpan interval, Exception exception);

    [LoggerMessage(EventId = 807, Level = LogLevel.Information, Message = "Fill window closed; {Left} files wait for the next window")]
    public static partial void WindowClosed(ILogger logger, int left);

    [LoggerMessage(EventId = 808, Level = LogLevel.Debug, Message = "Reported demand: {Entries} (title, rendition) counts, {Requests} requests, {Dropped} not counted")]
    public static partial void DemandReported(ILogger logger, int entries, long requests, long dropped);
}
