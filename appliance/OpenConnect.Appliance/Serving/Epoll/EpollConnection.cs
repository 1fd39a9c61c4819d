using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace OpenConnect.Appliance.Serving.Epoll;

/// <summary>
/// One accepted socket of the epoll transport, as Kestrel sees it (a <see cref="ConnectionContext"/>
/// with the socket feature <see cref="ZeroCopySender"/> needs). Its epoll loop thread receives into the
/// input pipe (<see cref="Receive()"/>) and the pipe's reader, the request loop, continues inline on that
/// thread; what the application writes to the output pipe (handed-over connections' Kestrel responses)
/// is sent non-blocking on the thread that flushed it (<see cref="SendLoopAsync"/>), waiting for the
/// loop's writable edge on EAGAIN. Close semantics follow Kestrel's socket transport: the peer's FIN
/// completes the input and a response under way still goes out; once the application completed its
/// output the socket is shut both ways; <c>ConnectionClosed</c> fires when both directions ended.
/// </summary>
internal sealed partial class EpollConnection : ConnectionContext, IEpollSocket,
    IConnectionIdFeature, IConnectionTransportFeature, IConnectionItemsFeature, IConnectionLifetimeFeature, IConnectionEndPointFeature, IConnectionSocketFeature, IWritableEdgesFeature
{
    /// <summary>Bytes asked for per recv(2); a request head is far smaller.</summary>
    private const int ReceiveBytes = 4096;

    private static long _lastId;

    private readonly Socket _socket;
    private readonly SafeSocketHandle _handle;
    private readonly int _fd;
    private readonly EpollLoops _loops;
    // One set of options for every connection's pipes. Both ends inline: the reader continues on the loop
    // thread that flushed received bytes, and the send loop on the thread that flushed a response.
    private static readonly PipeOptions InputOptions = new(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, useSynchronizationContext: false);
    private static readonly PipeOptions OutputOptions = new(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, pauseWriterThreshold: 64 * 1024, resumeWriterThreshold: 32 * 1024, useSynchronizationContext: false);

    private readonly Pipe _input;
    private readonly CancellationTokenSource _closed = new();
    private readonly FeatureCollection _features = new();
    private readonly ulong _registration;

    // The output pipe and its send loop exist only once the application asks for the output (a connection
    // handed over to Kestrel's HTTP/1.1): segment responses go to the socket directly (ZeroCopySender).
    private readonly Lock _outputLock = new();
    private Pipe? _output;
    private Task _sending = Task.CompletedTask;
    private int _sendEnded;

    // Receive ownership: events counted while one receive pass runs; the pass that brings it back to 0 ends ownership.
    private int _readSignals;
    private volatile bool _peerClosed;

    // Writable edges seen, and the send loop's waiter for the next one.
    private int _writableEdges;
    private TaskCompletionSource? _writableWaiter;

    private IDictionary<object, object?>? _items;
    private int _directionsEnded;
    private int _shutdown;
    private int _disposed;

    private EpollConnection(Socket socket, EpollLoops loops, ulong registration)
    {
        socket.Blocking = false;
        _socket = socket;
        _handle = socket.SafeHandle;
        _fd = (int)_handle.DangerousGetHandle();
        _loops = loops;
        _registration = registration;
        ConnectionId = "E" + Interlocked.Increment(ref _lastId).ToString("X", System.Globalization.CultureInfo.InvariantCulture);
        LocalEndPoint = socket.LocalEndPoint;
        RemoteEndPoint = socket.RemoteEndPoint;

        _input = new Pipe(InputOptions);
        Transport = new DuplexPipe(this);
        ConnectionClosed = _closed.Token;

        _features.Set<IConnectionIdFeature>(this);
        _features.Set<IConnectionTransportFeature>(this);
        _features.Set<IConnectionItemsFeature>(this);
        _features.Set<IConnectionLifetimeFeature>(this);
        _features.Set<IConnectionEndPointFeature>(this);
        _features.Set<IConnectionSocketFeature>(this);
        _features.Set<IWritableEdgesFeature>(this);
    }

    /// <summary>Takes an accepted socket onto its loop, non-blocking.</summary>
    public static EpollConnection Start(Socket socket, EpollLoops loops)
    {
        var connection = new EpollConnection(socket, loops, loops.NewRegistration());
        loops.Register(connection._registration, connection, connection._fd);
        return connection;
    }

    /// <summary>Takes over a waiting socket's registration, on its loop thread: its events come here from now on.</summary>
    public static EpollConnection Adopt(Socket socket, EpollLoops loops, ulong registration, int fd)
    {
        var connection = new EpollConnection(socket, loops, registration);
        loops.Replace(registration, connection, fd);
        return connection;
    }

    public string Name => ConnectionId;

    public void Fail(Exception error) => Abort(new ConnectionAbortedException("the connection's event handling failed", error));

    public override string ConnectionId { get; set; }

    public override IFeatureCollection Features => _features;

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new Dictionary<object, object?>();
        set => _items = value;
    }

    public override IDuplexPipe Transport { get; set; }

    public override EndPoint? LocalEndPoint { get; set; }

    public override EndPoint? RemoteEndPoint { get; set; }

    public Socket Socket => _socket;

    /// <summary>Called on the loop thread with the events epoll reported for this socket.</summary>
    public void OnEvents(uint events)
    {
        if ((events & (Native.EPOLLRDHUP | Native.EPOLLHUP | Native.EPOLLERR)) != 0)
        {
            _peerClosed = true;
        }

        if ((events & (Native.EPOLLOUT | Native.EPOLLHUP | Native.EPOLLERR)) != 0)
        {
            OnWritable();
        }

        if ((events & (Native.EPOLLIN | Native.EPOLLRDHUP | Native.EPOLLHUP | Native.EPOLLERR)) != 0 && Interlocked.Increment(ref _readSignals) == 1)
        {
            Receive();
        }
    }

    /// <summary>Like Kestrel's: shuts the socket both ways (the loops see it and end) and stops the send loop.</summary>
    public override void Abort(ConnectionAbortedException abortReason)
    {
        Shutdown();
        lock (_outputLock)
        {
            if (_output is { } output)
            {
                output.Reader.CancelPendingRead();
            }
            else
            {
                // No send loop to end the send direction.
                EndSend();
            }
        }

        OnWritable();
    }

    /// <summary>The output pipe's writer, created with its send loop on first use.</summary>
    private PipeWriter Output()
    {
        lock (_outputLock)
        {
            if (_output is null)
            {
                _output = new Pipe(OutputOptions);
                if (Volatile.Read(ref _sendEnded) != 0)
                {
                    // Aborted or disposed before: nothing will be sent.
                    _output.Reader.Complete();
                }
                else
                {
                    _sending = SendLoopAsync(_output.Reader);
                }
            }

            return _output.Writer;
        }
    }

    /// <summary>The send direction ended (its loop finished, or there was none): counted once.</summary>
    private void EndSend()
    {
        if (Interlocked.Exchange(ref _sendEnded, 1) == 0)
        {
            EndDirection();
        }
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _input.Reader.Complete();
        Task sending;
        lock (_outputLock)
        {
            _output?.Writer.Complete();
            sending = _sending;
            if (_output is null)
            {
                EndSend();
            }
        }

        await sending.ConfigureAwait(false);

        // Out of the epoll set before the descriptor can be reused; the receive side holds a reference
        // on the handle around recv(2), so a pass under way ends with the handle closed, not another socket.
        _loops.Unregister(_registration, _fd);
        _socket.Dispose();
        EndDirection();
        EndDirection();
    }

    private void Shutdown()
    {
        if (Interlocked.Exchange(ref _shutdown, 1) == 0 && EnterHandle())
        {
            _ = Native.Shutdown(_fd, Native.SHUT_RDWR);
            _handle.DangerousRelease();
        }
    }

    private unsafe int Receive(Span<byte> buffer, out int errno)
    {
        fixed (byte* p = buffer)
        {
            return Transfer(p, buffer.Length, send: false, out errno);
        }
    }

    private unsafe int Send(ReadOnlySpan<byte> data, out int errno)
    {
        fixed (byte* p = data)
        {
            return Transfer(p, data.Length, send: true, out errno);
        }
    }

    /// <summary>
    /// recv(2) or send(2) (never raising SIGPIPE) holding a reference on the socket handle, so its
    /// descriptor cannot be closed and reused under the call; -1 with EBADF once the socket is closed.
    /// </summary>
    private unsafe int Transfer(byte* buffer, int length, bool send, out int errno)
    {
        if (!EnterHandle())
        {
            errno = EBADF;
            return -1;
        }

        try
        {
            var n = (int)(send ? Native.Send(_fd, buffer, length, Native.MSG_NOSIGNAL) : Native.Recv(_fd, buffer, length, 0));
            errno = n < 0 ? System.Runtime.InteropServices.Marshal.GetLastPInvokeError() : 0;
            return n;
        }
        finally
        {
            _handle.DangerousRelease();
        }
    }

    /// <summary>Takes a reference on the socket handle for one system call; false once the socket is closed.</summary>
    private bool EnterHandle()
    {
        var added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
        }
        catch (ObjectDisposedException)
        {
            // Closed.
        }

        return added;
    }

    /// <summary>Both directions ended (or the connection was disposed): <c>ConnectionClosed</c> fires, on the thread pool as Kestrel's does.</summary>
    private void EndDirection()
    {
        if (Interlocked.Increment(ref _directionsEnded) == 2)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static c => c.FireClosed(), this, preferLocal: false);
        }
    }

    private void FireClosed()
    {
        try
        {
            _closed.Cancel();
        }
        catch (AggregateException)
        {
            // A registration's callback failed; its owner reports it.
        }
    }

    /// <summary>The transport Kestrel sees: the input pipe's reader, and the output created when first asked for.</summary>
    private sealed class DuplexPipe(EpollConnection connection) : IDuplexPipe
    {
        public PipeReader Input => connection._input.Reader;

        public PipeWriter Output => connection.Output();
    }
}
