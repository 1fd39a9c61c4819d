using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace OpenConnect.Appliance.Serving;

/// <summary>
/// Writes one connection's responses straight to its socket, like Kestrel's <c>SocketSender</c> but
/// without a pipe: heads with send(2) (MSG_MORE), hits with sendfile(2) from the object file or memfd,
/// misses from the fetch buffer. The socket is non-blocking: on EAGAIN it awaits the epoll thread
/// (<see cref="WriteReadiness"/>, or the transport's own loop when it offers <see cref="IWritableEdgesFeature"/>) under the response's <see cref="ResponseDeadline"/>; a client slower
/// than that is cut off.
/// </summary>
internal sealed class ZeroCopySender : IResponseSender
{
    private readonly Socket _socket;
    private readonly int _fd;
    private readonly WriteReadiness _readiness;
    private readonly ConnectionContext _connection;
    private readonly ILogger _logger;
    private readonly IWritableEdgesFeature? _edges;
    private bool _registered;

    public ZeroCopySender(Socket socket, WriteReadiness readiness, ConnectionContext connection, ILogger logger)
    {
        _socket = socket;
        _fd = (int)socket.SafeHandle.DangerousGetHandle();
        _readiness = readiness;
        _connection = connection;
        _logger = logger;
        _edges = connection.Features.Get<IWritableEdgesFeature>();
    }

    /// <summary>Leaves the epoll set (before the connection is handed to Kestrel or closed).</summary>
    public void Unregister() => _readiness.Unregister(_fd, ref _registered);

    /// <summary>Sends a response head with send(2); MSG_MORE holds it for the body's first segment.</summary>
    public async ValueTask<bool> SendHeadAsync(ReadOnlyMemory<byte> head, bool more, ResponseDeadline deadline)
    {
        var length = head.Length;
        var offset = 0;
        var flags = Native.MSG_NOSIGNAL | (more ? Native.MSG_MORE : 0);
        while (offset < length)
        {
            var edges = _edges?.WritableEdges ?? 0;
            var n = Native.Send(_fd, head.Span[offset..], flags);

            if (n >= 0)
            {
                offset += (int)n;
                continue;
            }

            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno == Native.EINTR)
            {
                continue;
            }

            if (errno != Native.EAGAIN || !await WaitWritableAsync(deadline, 0, edges).ConfigureAwait(false))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Sends <paramref name="count"/> bytes of <paramref name="file"/> from <paramref name="offset"/> with sendfile(2).</summary>
    public async ValueTask<bool> SendFileAsync(Microsoft.Win32.SafeHandles.SafeFileHandle file, long offset, long count, ResponseDeadline deadline)
    {
        var fileFd = (int)file.DangerousGetHandle();
        var sent = 0L;
        while (sent < count)
        {
            var edges = _edges?.WritableEdges ?? 0;
            var n = Native.SendFile(_fd, fileFd, ref offset, (nint)Math.Min(count - sent, 0x7fff_f000));
            if (n > 0)
            {
                sent += n;
                continue;
            }

            if (n == 0)
            {
                return false; // the file is shorter than its index entry said
            }

            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno == Native.EINTR)
            {
                continue;
            }

            if (errno != Native.EAGAIN || !await WaitWritableAsync(deadline, sent, edges).ConfigureAwait(false))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Sends bytes from memory (a miss's fetch buffer, cut-through); <paramref name="sent"/> body bytes of this response went out before.</summary>
    public async ValueTask<bool> SendMemoryAsync(ReadOnlyMemory<byte> body, long sent, ResponseDeadline deadline)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(_connection.ConnectionClosed);
        cts.CancelAfter(deadline.Remaining(sent, body.Length));
        try
        {
            await _socket.SendAsync(body, SocketFlags.None, cts.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            ServingLog.SlowClient(_logger, _connection.ConnectionId);
            return false;
        }
    }

    private async ValueTask<bool> WaitWritableAsync(ResponseDeadline deadline, long sent, int edges)
    {
        var wait = _edges is { } transport ? transport.WaitWritableAsync(edges) : _readiness.WaitAsync(_fd, ref _registered);
        try
        {
            await wait.WaitAsync(deadline.Remaining(sent, 0), _connection.ConnectionClosed).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            ServingLog.SlowClient(_logger, _connection.ConnectionId);
            return false;
        }
    }
}
