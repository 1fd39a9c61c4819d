using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;

namespace OpenConnect.Appliance.Serving.Epoll;

/// <summary>The receive side: recv(2) into the input pipe on the loop thread, the reader running inline.</summary>
internal sealed partial class EpollConnection
{
    private const int ECONNRESET = 104;
    private const int EBADF = 9;

    /// <summary>Where a receive pass reads into, per thread: used only between recv(2) and the copy into the pipe.</summary>
    [ThreadStatic]
    private static byte[]? _scratch;

    /// <summary>
    /// One receive pass, by whoever brought the signal count from 0 to 1 (the loop thread, or the
    /// continuation of a flush that waited for the reader). Registration is edge-triggered, so the
    /// pass reads until the socket is drained; events that arrive meanwhile make it go round again.
    /// </summary>
    private void Receive()
    {
        while (true)
        {
            var seen = Volatile.Read(ref _readSignals);
            if (!ReceiveUntilDrained())
            {
                // Paused for the reader (the flush's continuation goes on) or ended: keep ownership.
                return;
            }

            if (Interlocked.CompareExchange(ref _readSignals, 0, seen) == seen)
            {
                return;
            }
        }
    }

    /// <summary>True when the socket has nothing more to read now; false when the pass paused or the input ended.</summary>
    private bool ReceiveUntilDrained()
    {
        var writer = _input.Writer;
        var scratch = _scratch ??= GC.AllocateUninitializedArray<byte>(ReceiveBytes, pinned: true);
        while (true)
        {
            // recv into the thread's scratch buffer and copy what came (a request head is a few hundred
            // bytes): an idle connection then holds no pipe memory, as Kestrel's zero-byte reads achieve.
            var n = Receive(scratch, out var errno);
            if (n > 0)
            {
                writer.Write(scratch.AsSpan(0, n));

                // The request loop continues here, inline: parse, look up, start sendfile.
                var flush = writer.FlushAsync();
                if (!flush.IsCompleted)
                {
                    _ = ResumeAfterFlushAsync(flush);
                    return false;
                }

                if (flush.Result.IsCompleted)
                {
                    EndReceive(null);
                    return false;
                }

                // A short read drained the socket (later bytes raise a new edge), unless the peer's FIN
                // is pending: that shows only as a recv(2) of 0, with no further edge.
                if (n < scratch.Length && !_peerClosed)
                {
                    return true;
                }

                continue;
            }

            if (n == 0)
            {
                EndReceive(null);
                return false;
            }

            if (errno == Native.EINTR)
            {
                continue;
            }

            if (errno == Native.EAGAIN)
            {
                return true;
            }

            EndReceive(errno switch
            {
                ECONNRESET => new ConnectionResetException("the client reset the connection"),
                EBADF => new ConnectionAbortedException("the connection was closed"),
                _ => new IOException($"recv failed: errno {errno}"),
            });
            return false;
        }
    }

    /// <summary>The input pipe was full: once the reader made room, the same receive pass goes on (it still owns the socket's reading).</summary>
    private async Task ResumeAfterFlushAsync(ValueTask<FlushResult> flush)
    {
        FlushResult result;
        try
        {
            result = await flush.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            EndReceive(ex);
            return;
        }

        if (result.IsCompleted)
        {
            EndReceive(null);
            return;
        }

        Receive();
    }

    private void EndReceive(Exception? error)
    {
        _input.Writer.Complete(error);
        EndDirection();
    }
}
