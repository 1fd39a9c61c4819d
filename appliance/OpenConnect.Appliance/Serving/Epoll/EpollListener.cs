using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;

namespace OpenConnect.Appliance.Serving.Epoll;

/// <summary>
/// A listening socket of the epoll transport, bound like Kestrel's socket transport binds one (the
/// IPv6 any-address in dual mode, a backlog of 512, Nagle off on accepted sockets). Accepting stays
/// on the runtime's socket engine (once per connection, not per request), in a loop of its own: each
/// accepted socket waits on an epoll loop as a <see cref="WaitingSocket"/> and becomes a Kestrel
/// connection (<see cref="AcceptAsync"/> returns it) only once its first bytes arrived, so a connection
/// that sends nothing costs its socket and a few dozen bytes, not a connection's pipes, state machines
/// and Kestrel's per-connection objects. The transport's sockets, waiting or not, count against
/// <c>Limits:MaxConnections</c> (over it a new one is closed unanswered), and waiting ones, with the
/// segment server's count, against <c>Limits:MaxConnectionsPerClient</c>: a socket over its address's
/// cap goes to Kestrel at once, where the segment server answers it 503.
/// </summary>
internal sealed class EpollListener : IConnectionListener
{
    /// <summary>How long accepting waits after a failure other than a reset (EMFILE, ENFILE, ENOBUFS) before it tries again.</summary>
    private static readonly TimeSpan AcceptPause = TimeSpan.FromMilliseconds(50);

    private readonly Socket _socket;
    private readonly EpollLoops _loops;
    private readonly EpollAdmission _admission;
    private readonly ILogger _logger;
    private readonly Channel<EpollConnection> _ready = Channel.CreateUnbounded<EpollConnection>(new UnboundedChannelOptions { SingleReader = true });
    private Task _accepting = Task.CompletedTask;

    private EpollListener(Socket socket, EpollLoops loops, EpollAdmission admission, ILogger logger)
    {
        _socket = socket;
        _loops = loops;
        _admission = admission;
        _logger = logger;
        EndPoint = socket.LocalEndPoint!;
    }

    public EndPoint EndPoint { get; }

    /// <exception cref="AddressInUseException">Another socket holds the address (Kestrel reports it with the endpoint).</exception>
    public static EpollListener Bind(IPEndPoint endpoint, EpollLoops loops, EpollAdmission admission, ILogger logger)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.Bind(endpoint);
            socket.Listen(512);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            socket.Dispose();
            throw new AddressInUseException(e.Message, e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var listener = new EpollListener(socket, loops, admission, logger);
        listener._accepting = listener.AcceptLoopAsync();
        return listener;
    }

    /// <summary>The next connection that sent its first bytes (or was refused by its address's cap); null once unbound.</summary>
    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _ready.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket accepted;
            try
            {
                accepted = await _socket.AcceptAsync().ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                return; // unbound
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.OperationAborted)
            {
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                // Reset before it was accepted: take the next one.
                EpollLog.AcceptFailed(_logger, "-", e);
                continue;
            }
            catch (SocketException e)
            {
                // Out of descriptors or buffers: the listening socket stays readable, so accepting again
                // at once would spin a core. Pause, then try again (established connections go on).
                EpollLog.AcceptPaused(_logger, e.SocketErrorCode, AcceptPause.TotalMilliseconds, e);
                await Task.Delay(AcceptPause).ConfigureAwait(false);
                continue;
            }

            try
            {
                Admit(accepted);
            }
            catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
            {
                EpollLog.AcceptFailed(_logger, "-", e);
                accepted.Dispose();
            }
        }
    }

    private void Admit(Socket accepted)
    {
        // Not made non-blocking yet: the runtime would attach its async context to the socket (a few hundred
        // bytes) though nothing is read while it waits. EpollConnection does it, before its first recv(2).
        accepted.NoDelay = true;
        var client = (accepted.RemoteEndPoint as IPEndPoint)?.Address;
        if (!_loops.TryStartWaiting(_admission.MaxConnections))
        {
            // As Kestrel's connection limit (which sees only the connections handed over): over it, the socket is closed unanswered.
            EpollLog.OverConnectionLimit(_logger, _admission.MaxConnections);
            accepted.Dispose();
            return;
        }

        if (client is not null && !_admission.PerClient.TryOpen(client))
        {
            // Over its address's cap: Kestrel's connection at once, which the segment server answers 503.
            _loops.EndWaiting();
            Publish(EpollConnection.Start(accepted, _loops));
            return;
        }

        var fd = (int)accepted.SafeHandle.DangerousGetHandle();
        var waiting = new WaitingSocket(accepted, this, fd, _loops.NewRegistration(), Environment.TickCount64);
        try
        {
            _loops.Register(waiting.Registration, waiting, fd);
        }
        catch
        {
            _loops.EndWaiting();
            if (client is not null)
            {
                _admission.PerClient.Close(client);
            }

            throw;
        }
    }

    /// <summary>
    /// On the loop thread, at a waiting socket's first readable edge: it becomes a connection under the same
    /// registration and receives at once (its bytes wait in the input pipe for the request loop), then goes to
    /// Kestrel. Its address's place goes back to the count the segment server takes it again from.
    /// </summary>
    public void HandOver(WaitingSocket waiting, Socket socket, uint events)
    {
        _loops.EndWaiting();
        if (waiting.Client is { } client)
        {
            _admission.PerClient.Close(client);
        }

        var connection = EpollConnection.Adopt(socket, _loops, waiting.Registration, waiting.Fd);
        connection.OnEvents(events);
        Publish(connection);
    }

    /// <summary>A waiting socket closed unanswered: by its peer, the first-request timeout or unbinding.</summary>
    public void Discard(WaitingSocket waiting, Socket socket)
    {
        var client = waiting.Client;
        _loops.Unregister(waiting.Registration, waiting.Fd);
        socket.Dispose();
        _loops.EndWaiting();
        if (client is not null)
        {
            _admission.PerClient.Close(client);
        }
    }

    private void Publish(EpollConnection connection)
    {
        if (!_ready.Writer.TryWrite(connection))
        {
            // Unbound meanwhile.
            _ = connection.DisposeAsync();
        }
    }

    public async ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _socket.Dispose();
        await _accepting.ConfigureAwait(false);
        _ready.Writer.TryComplete();
        foreach (var waiting in _loops.WaitingOf(this))
        {
            waiting.Close();
        }

        // Connections Kestrel did not take: it never will.
        while (_ready.Reader.TryRead(out var connection))
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    public ValueTask DisposeAsync() => UnbindAsync();
}
