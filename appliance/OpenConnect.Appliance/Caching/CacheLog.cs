namespace OpenConnect.Appliance.Caching;

internal static partial class CacheLog
{
    [LoggerMessage(3001, LogLevel.Warning, "SSD write of {Path} failed; the object is not on the SSD tier")]
    public static partial void SsdWriteFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(3002, LogLevel.Warning, "SSD read of {Path} failed; serving it as a miss")]
    public static partial void SsdReadFailed(ILogger logger, string path, Exception exception);
}
