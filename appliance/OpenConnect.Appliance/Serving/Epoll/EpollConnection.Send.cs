using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;

namespace OpenConnect.Appliance.Serving.Epoll;

/// <summary>
/// The send side: bytes the application wrote to the output pipe (Kestrel's responses on a handed-over
/// connection) go out with non-blocking send(2) on the thread that flushed them; on EAGAIN the loop
/// waits for the socket's writable edge. Segment responses do not pass here: <see cref="ZeroCopySender"/>
/// writes them to the socket itself, waiting for the same writable edges (<see cref="IWritableEdgesFeature"/>).
/// </summary>
internal sealed partial class EpollConnection
{
    private const int EPIPE = 32;

    private async Task SendLoopAsync(PipeReader reader)
    {
        Exception? error = null;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    break;
                }

                var buffer = result.Buffer;
                foreach (var segment in buffer)
                {
                    await SendAllAsync(segment).ConfigureAwait(false);
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ConnectionResetException or ConnectionAbortedException)
        {
            error = ex;
        }
        finally
        {
            // As Kestrel's socket transport: once the application completed its output, the socket is shut both ways.
            reader.Complete(error);
            Shutdown();
            EndSend();
        }
    }

    private async ValueTask SendAllAsync(ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            var edges = Volatile.Read(ref _writableEdges);
            var n = Send(data.Span, out var errno);
            if (n >= 0)
            {
                data = data[n..];
                continue;
            }

            if (errno == Native.EINTR)
            {
                continue;
            }

            if (errno != Native.EAGAIN)
            {
                throw errno is ECONNRESET or EPIPE ? new ConnectionResetException("the client reset the connection") : new IOException($"send failed: errno {errno}");
            }

            await WaitWritableAsync(edges).ConfigureAwait(false);
        }
    }

    public int WritableEdges => Volatile.Read(ref _writableEdges);

    /// <summary>
    /// Waits for a writable edge after <paramref name="edges"/>: one that came between the EAGAIN and the
    /// waiter's publication is seen by the count, so no wake-up is lost. Continues on the loop thread.
    /// </summary>
    public Task WaitWritableAsync(int edges)
    {
        var waiter = new TaskCompletionSource();
        // A full fence between publishing the waiter and reading the count: a plain (release) store
        // followed by a load of another field may be reordered, and then an edge counted in between
        // would find no waiter while this one read the old count.
        Interlocked.Exchange(ref _writableWaiter, waiter);
        if (Volatile.Read(ref _writableEdges) != edges || Volatile.Read(ref _shutdown) != 0)
        {
            Interlocked.CompareExchange(ref _writableWaiter, null, waiter);
            return Task.CompletedTask;
        }

        return waiter.Task;
    }

    private void OnWritable()
    {
        Interlocked.Increment(ref _writableEdges);
        Interlocked.Exchange(ref _writableWaiter, null)?.TrySetResult();
    }
}
