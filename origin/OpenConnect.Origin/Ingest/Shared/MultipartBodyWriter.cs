using System.Buffers;

namespace OpenConnect.Origin.Ingest.Shared;

/// <summary>
/// Appends a request's bytes to an upload's multipart upload. It starts from the committed tail
/// (read back into the part buffer), uploads a part each time the buffer holds a full part
/// (committing it at once when the caller asks, so a crash keeps it), and at the end writes what is
/// left as the new tail object, or as the last part when the upload is complete. Nothing it wrote
/// counts until the offset is committed with the new state.
/// </summary>
internal sealed class MultipartBodyWriter : IUploadBodyWriter
{
    private readonly SharedUploadStore _store;
    private readonly UploadEntry _entry;
    private readonly Func<long, UploadRecord>? _commitEachPart;
    private readonly int _partSize;
    private readonly CancellationToken _cancellationToken;
    private byte[]? _buffer;
    private int _filled;
    private bool _wrote;
    private MultipartState _state;

    private MultipartBodyWriter(SharedUploadStore store, UploadEntry entry, Func<long, UploadRecord>? commitEachPart, int partSize, CancellationToken cancellationToken)
    {
        _store = store;
        _entry = entry;
        _commitEachPart = commitEachPart;
        _partSize = partSize;
        _cancellationToken = cancellationToken;
        _state = SharedUploadStore.StateOf(entry);
        _buffer = ArrayPool<byte>.Shared.Rent(partSize);
    }

    private byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(MultipartBodyWriter));

    public static async Task<MultipartBodyWriter> OpenAsync(SharedUploadStore store, UploadEntry entry, Func<long, UploadRecord>? commitEachPart, int partSize, CancellationToken cancellationToken)
    {
        var writer = new MultipartBodyWriter(store, entry, commitEachPart, partSize, cancellationToken);
        try
        {
            var tail = entry.Current.Offset - writer._state.PartBytes;
            if (tail > 0)
            {
                if (writer._state.TailKey is null || tail >= partSize)
                {
                    throw new UploadStoreException(StatusCodes.Status500InternalServerError, $"upload {entry.Current.Id}: {tail} bytes past its last part but no tail object within one part");
                }

                await store.Objects.ReadTailAsync(writer._state.TailKey, writer.Buffer.AsMemory(0, (int)tail), cancellationToken).ConfigureAwait(false);
                writer._filled = (int)tail;
            }

            return writer;
        }
        catch
        {
            await writer.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data)
    {
        _wrote |= data.Length > 0;
        while (data.Length > 0)
        {
            var n = Math.Min(data.Length, _partSize - _filled);
            data[..n].CopyTo(Buffer.AsMemory(_filled));
            _filled += n;
            data = data[n..];
            if (_filled == _partSize)
            {
                await UploadPartAsync().ConfigureAwait(false);
            }
        }
    }

    public ValueTask DiscardAsync()
    {
        // Parts uploaded and not committed are replaced when their numbers are uploaded again.
        _filled = 0;
        _wrote = false;
        return ValueTask.CompletedTask;
    }

    public async ValueTask FinishAsync(bool sync, bool completes)
    {
        if (completes)
        {
            if (_filled > 0)
            {
                await UploadPartAsync().ConfigureAwait(false);
            }
        }
        else if (_wrote && _filled > 0)
        {
            var key = _store.Objects.TailKey(_entry.Current.Id, _state.PartBytes + _filled);
            await _store.Objects.PutTailAsync(key, Buffer.AsMemory(0, _filled), _cancellationToken).ConfigureAwait(false);
            _state = _state with { TailKey = key, ObsoleteTail = _state.TailKey != key ? _state.TailKey ?? _state.ObsoleteTail : _state.ObsoleteTail };
        }

        _entry.StoreState = _state;
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return ValueTask.CompletedTask;
    }

    private async Task UploadPartAsync()
    {
        var id = _entry.Current.Id;
        var multipartId = _state.MultipartId ?? throw new UploadStoreException(StatusCodes.Status500InternalServerError, $"upload {id} has no multipart upload");
        var number = _state.Parts.Count + 1;
        var etag = await _store.Objects.UploadPartAsync(id, multipartId, number, Buffer.AsMemory(0, _filled), _cancellationToken).ConfigureAwait(false);
        _state = _state with
        {
            Parts = [.. _state.Parts, new UploadPart(number, etag, _filled)],
            TailKey = null,
            ObsoleteTail = _state.TailKey ?? _state.ObsoleteTail,
        };
        _filled = 0;
        if (_commitEachPart is null)
        {
            return;
        }

        _entry.StoreState = _state;
        if (!await _store.CommitAsync(_entry, _commitEachPart(_state.PartBytes)).ConfigureAwait(false))
        {
            throw new UploadStoreException(StatusCodes.Status409Conflict, $"the upload's offset moved to {_entry.Current.Offset} on another instance; resume from there");
        }

        _state = SharedUploadStore.StateOf(_entry);
    }
}
