using System.Net;
using System.Net.Sockets;

namespace OpenConnect.Bench.Throughput;

/// <summary>
/// N TCP connections to a server that never send a request, held open for the memory check: opened in
/// batches, so a listen backlog smaller than N does not turn a burst of connects into SYN retries.
/// </summary>
internal sealed class IdleConnections : IDisposable
{
    private const int Batch = 256;
    private readonly List<Socket> _sockets;

    private IdleConnections(List<Socket> sockets, int failed)
    {
        _sockets = sockets;
        Failed = failed;
    }

    public int Opened => _sockets.Count;

    public int Failed { get; }

    public static async Task<IdleConnections> OpenAsync(int port, int count, CancellationToken cancellationToken)
    {
        var sockets = new List<Socket>(count);
        var failed = 0;
        var endpoint = new IPEndPoint(IPAddress.Loopback, port);
        for (var start = 0; start < count; start += Batch)
        {
            var batch = Enumerable.Range(0, Math.Min(Batch, count - start)).Select(async _ =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    timeout.CancelAfter(TimeSpan.FromSeconds(10));
                    await socket.ConnectAsync(endpoint, timeout.Token).ConfigureAwait(false);
                    return socket;
                }
                catch (Exception ex) when (ex is SocketException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
                {
                    socket.Dispose();
                    return null;
                }
            }).ToList();
            foreach (var socket in await Task.WhenAll(batch).ConfigureAwait(false))
            {
                if (socket is null)
                {
                    failed++;
                }
                else
                {
                    sockets.Add(socket);
                }
            }
        }

        return new IdleConnections(sockets, failed);
    }

    public void Dispose()
    {
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }

        _sockets.Clear();
    }
}
