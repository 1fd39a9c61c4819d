namespace OpenConnect.Appliance.Serving.Epoll;

internal static partial class EpollLog
{
    [LoggerMessage(1101, LogLevel.Error, "Connection {ConnectionId}: handling its socket events failed; the connection is aborted")]
    public static partial void EventFailed(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(1102, LogLevel.Debug, "Connection {ConnectionId}: accept failed and is skipped")]
    public static partial void AcceptFailed(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(1105, LogLevel.Warning, "Accepting connections paused for {PauseMs} ms: {Error} (out of file descriptors or socket buffers?)")]
    public static partial void AcceptPaused(ILogger logger, System.Net.Sockets.SocketError error, double pauseMs, Exception exception);

    [LoggerMessage(1103, LogLevel.Information, "Epoll transport listening on {EndPoint} ({Threads} epoll threads)")]
    public static partial void Listening(ILogger logger, System.Net.EndPoint endPoint, int threads);

    [LoggerMessage(1104, LogLevel.Warning, "Connection closed unanswered: the epoll transport holds {MaxConnections} sockets (Limits:MaxConnections)")]
    public static partial void OverConnectionLimit(ILogger logger, long maxConnections);
}
