using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace OpenConnect.Appliance.Serving.Epoll;

/// <summary>
/// A listening socket of the epoll transport, bound like Kestrel's socket transport binds one (the
/// IPv6 any-address in dual mode, a backlog of 512, Nagle off on accepted sockets). Accepting stays
/// on the runtime's socket engine (once per connection, not per request); each accepted socket is
/// handed to an epoll loop.
/// </summary>
internal sealed class EpollListener : IConnectionListener
{
    private readonly Socket _socket;
    private readonly EpollLoops _loops;
    private readonly ILogger _logger;

    private EpollListener(Socket socket, EpollLoops loops, ILogger logger)
    {
        _socket = socket;
        _loops = loops;
        _logger = logger;
        EndPoint = socket.LocalEndPoint!;
    }

    public EndPoint EndPoint { get; }

    /// <exception cref="AddressInUseException">Another socket holds the address (Kestrel reports it with the endpoint).</exception>
    public static EpollListener Bind(IPEndPoint endpoint, EpollLoops loops, ILogger logger)
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

        return new EpollListener(socket, loops, logger);
    }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Socket accepted;
            try
            {
                accepted = await _socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                return null; // unbound
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.OperationAborted)
            {
                return null;
            }
            catch (SocketException e)
            {
                // Reset before it was accepted: take the next one.
                EpollLog.AcceptFailed(_logger, "-", e);
                continue;
            }

            try
            {
                accepted.NoDelay = true;
                return EpollConnection.Start(accepted, _loops);
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                EpollLog.AcceptFailed(_logger, "-", e);
                accepted.Dispose();
            }
        }
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
