using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.Win32.SafeHandles;

namespace OpenConnect.Appliance.Serving;

/// <summary>
/// Writes one connection's responses into its output pipe: the sender for connections whose bytes
/// must pass through user space, HTTPS (Kestrel's TLS middleware ran first, so the pipe encrypts;
/// sendfile under TLS needs kernel TLS, which this kernel lacks). A head is written without a flush
/// when the body follows, so both leave in one TLS record; a hit's bytes are read (pread) from the
/// object file or RAM memfd straight into pipe memory, a miss's copied from the fetch buffer, in
/// <see cref="ChunkBytes"/> pieces, each flushed. A flush that waits longer than the response's
/// <see cref="ResponseDeadline"/> allows (the client reads slower than the minimum rate) is cancelled
/// and the connection cut, as <see cref="ZeroCopySender"/> does on the socket.
/// </summary>
internal sealed class PipeSender : IResponseSender
{
    /// <summary>Bytes copied and flushed at a time: four full TLS records, and the pipe's default pause threshold.</summary>
    internal const int ChunkBytes = 64 * 1024;

    private readonly PipeWriter _output;
    private readonly ConnectionContext _connection;
    private readonly ILogger _logger;

    public PipeSender(ConnectionContext connection, ILogger logger)
    {
        _output = connection.Transport.Output;
        _connection = connection;
        _logger = logger;
    }

    public ValueTask<bool> SendHeadAsync(ReadOnlyMemory<byte> head, bool more, ResponseDeadline deadline)
    {
        _output.Write(head.Span);
        return more ? ValueTask.FromResult(true) : FlushAsync(deadline, 0, head.Length);
    }

    public async ValueTask<bool> SendFileAsync(SafeFileHandle file, long offset, long count, ResponseDeadline deadline)
    {
        var sent = 0L;
        while (sent < count)
        {
            var n = ReadInto(file, offset + sent, (int)Math.Min(count - sent, ChunkBytes));
            if (n == 0)
            {
                return false; // the file is shorter than its index entry said
            }

            if (!await FlushAsync(deadline, sent, n).ConfigureAwait(false))
            {
                return false;
            }

            sent += n;
        }

        // An empty body still pushes out a head written with more: true.
        return count > 0 || await FlushAsync(deadline, 0, 0).ConfigureAwait(false);
    }

    public async ValueTask<bool> SendMemoryAsync(ReadOnlyMemory<byte> body, long sent, ResponseDeadline deadline)
    {
        var offset = 0;
        do
        {
            var n = Math.Min(body.Length - offset, ChunkBytes);
            _output.Write(body.Span.Slice(offset, n));
            if (!await FlushAsync(deadline, sent + offset, n).ConfigureAwait(false))
            {
                return false;
            }

            offset += n;
        }
        while (offset < body.Length);

        return true;
    }

    /// <summary>Nothing registered: the pipe's flush is the wait for the client.</summary>
    public void Unregister()
    {
    }

    /// <summary>Reads up to <paramref name="length"/> bytes of the file at <paramref name="position"/> into pipe memory and commits them.</summary>
    private int ReadInto(SafeFileHandle file, long position, int length)
    {
        var memory = _output.GetMemory(length);
        var n = RandomAccess.Read(file, memory.Span[..length], position);
        _output.Advance(n);
        return n;
    }

    /// <summary>
    /// Flushes what was written; <paramref name="sent"/> bytes of the response went out before these
    /// <paramref name="next"/>. Completes at once while the pipe is below its pause threshold; otherwise
    /// waits for the client under the deadline.
    /// </summary>
    private ValueTask<bool> FlushAsync(ResponseDeadline deadline, long sent, long next)
    {
        var flush = _output.FlushAsync(_connection.ConnectionClosed);
        return flush.IsCompletedSuccessfully ? ValueTask.FromResult(Delivered(flush.Result)) : WaitAsync(flush, deadline.Remaining(sent, next));
    }

    /// <summary>False when the connection's reader is gone (the client closed) or the flush was cancelled.</summary>
    private static bool Delivered(FlushResult result) => !result.IsCompleted && !result.IsCanceled;

    private async ValueTask<bool> WaitAsync(ValueTask<FlushResult> flush, TimeSpan remaining)
    {
        try
        {
            return Delivered(await flush.AsTask().WaitAsync(remaining).ConfigureAwait(false));
        }
        catch (TimeoutException)
        {
            _output.CancelPendingFlush();
            ServingLog.SlowClient(_logger, _connection.ConnectionId);
            return false;
        }
    }
}
