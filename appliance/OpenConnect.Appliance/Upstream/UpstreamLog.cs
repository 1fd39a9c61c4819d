namespace OpenConnect.Appliance.Upstream;

internal static partial class UpstreamLog
{
    [LoggerMessage(2001, LogLevel.Warning, "Parent {Parent} failed for {Path}: {Reason}")]
    public static partial void ParentFailed(ILogger logger, string parent, string path, string reason);

    [LoggerMessage(2002, LogLevel.Error, "Upstream fetch for {Path} failed unexpectedly")]
    public static partial void FetchCrashed(ILogger logger, string path, Exception exception);
}
