using System.Net;
using System.Net.Sockets;

namespace OpenConnect.FillController.Tests.Fill;

/// <summary>
/// A TCP relay on <c>127.0.0.1:0</c> in front of one server (TLS passes through untouched). While
/// <see cref="Hold"/> is in effect, what the server sends is read and kept, and reaches the client
/// at <see cref="Release"/>; what the client sends always goes through. A test holds an answer the
/// server has already given (e.g. steering's roster as it was) while it changes the world behind it.
/// The server is named after the relay starts (<see cref="ForwardTo"/>): connections accepted
/// before wait for it.
/// </summary>
public sealed class GatedRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly TaskCompletionSource<Uri> _target = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly List<TcpClient> _sockets = [];
    private readonly Task _accepting;
    private TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _held;

    private GatedRelay()
    {
        _open.SetResult();
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The relay's port on 127.0.0.1.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Bytes the server sent that the relay holds back now.</summary>
    public long HeldBytes => Interlocked.Read(ref _held);

    public static GatedRelay Start() => new();

    /// <summary>Names the server (host and port of <paramref name="server"/>) every connection is relayed to.</summary>
    public void ForwardTo(Uri server) => _target.TrySetResult(server);

    /// <summary>From now on, what the server sends is kept until <see cref="Release"/>.</summary>
    public void Hold()
    {
        lock (_lock)
        {
            if (_open.Task.IsCompleted)
            {
                _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    /// <summary>Sends on what was kept, and everything after it.</summary>
    public void Release()
    {
        lock (_lock)
        {
            _open.TrySetResult();
        }
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                Track(client);
                _ = RelayAsync(client);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using var server = new TcpClient();
        Track(server);
        try
        {
            var target = await _target.Task.WaitAsync(_stop.Token);
            await server.ConnectAsync(target.Host, target.Port, _stop.Token);
            var fromClient = PumpAsync(client.GetStream(), server.GetStream(), gated: false);
            var fromServer = PumpAsync(server.GetStream(), client.GetStream(), gated: true);
            await Task.WhenAny(fromClient, fromServer);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
            // Either side went away, or the relay stopped.
        }
        finally
        {
            client.Dispose();
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, bool gated)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
            {
                if (gated)
                {
                    Interlocked.Add(ref _held, read);
                    Task open;
                    lock (_lock)
                    {
                        open = _open.Task;
                    }

                    await open.WaitAsync(_stop.Token);
                    Interlocked.Add(ref _held, -read);
                }

                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // Either side went away, or the relay stopped.
        }
    }

    private void Track(TcpClient socket)
    {
        lock (_lock)
        {
            _sockets.Add(socket);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        lock (_lock)
        {
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }
        }

        _stop.Dispose();
    }
}
