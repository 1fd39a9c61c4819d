namespace OpenConnect.Appliance.Serving;

internal static partial class ServingLog
{
    [LoggerMessage(1001, LogLevel.Debug, "Connection {ConnectionId} cut off: the client read slower than the minimum response rate")]
    public static partial void SlowClient(ILogger logger, string connectionId);

    [LoggerMessage(1002, LogLevel.Error, "Connection {ConnectionId} failed")]
    public static partial void ConnectionFailed(ILogger logger, string connectionId, Exception exception);
}
