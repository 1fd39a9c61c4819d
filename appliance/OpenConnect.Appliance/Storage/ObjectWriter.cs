using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace OpenConnect.Appliance.Storage;

/// <summary>
/// Streams one object into the store: chunks are hashed as they arrive (unless the caller gave the body's
/// SHA-256, already checked) and written to a part file in <c>tmp/</c>; <see cref="CommitAsync"/> writes the
/// header, fsyncs, renames the file into place and indexes it.
/// Not thread-safe: one producer (the upstream fetch, or a fill) drives it.
/// </summary>
/// <remarks>
/// Disk trouble never escapes to the caller: an I/O error (ENOSPC, EIO, a vanished directory) turns the
/// writer into a failed one that ignores further chunks and commits to <c>false</c>, and the store counts
/// the failure. The caller keeps streaming to its client (pass-through) either way.
/// </remarks>
public sealed class ObjectWriter : IAsyncDisposable, IDisposable
{
    /// <summary>Small upstream chunks (often 16 KiB) are coalesced so the file sees few, large writes.</summary>
    private const int BufferSize = 256 << 10;

    private readonly SsdStore _store;
    private readonly ulong _keyHash;
    private readonly string _path;
    private readonly long _expectedLength;
    private readonly string _contentType;
    private readonly string _etag;
    private readonly long _lastModifiedUnixSeconds;
    /// <summary>Hashes the body as it streams; null when the caller gave <see cref="_knownSha256"/>.</summary>
    private readonly IncrementalHash? _hash;
    private readonly byte[]? _knownSha256;
    private string? _partFile;
    private SafeFileHandle? _file;
    private byte[]? _buffer;
    private int _buffered;
    private long _fileOffset = ObjectHeader.Length;
    private long _bodyLength;
    private State _state;

    private enum State
    {
        Open,
        Failed,
        Committed,
        Aborted,
    }

    internal ObjectWriter(SsdStore store, ulong keyHash, string path, long expectedLength, string contentType, string etag, DateTimeOffset lastModified, byte[]? bodySha256)
    {
        _knownSha256 = bodySha256;
        _hash = bodySha256 is null ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        _store = store;
        _keyHash = keyHash;
        _path = path;
        _expectedLength = expectedLength;
        _contentType = contentType;
        _etag = etag;
        _lastModifiedUnixSeconds = lastModified.ToUnixTimeSeconds();
        try
        {
            (_partFile, _file) = store.CreatePartFile();
            _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        }
        catch (Exception ex) when (SsdStore.IsStorageFailure(ex))
        {
            Fail(ex);
        }
    }

    /// <summary>Body bytes accepted so far.</summary>
    public long BodyLength => _bodyLength;

    /// <summary>False once the write failed, was rejected, aborted or committed.</summary>
    public bool IsOpen => _state == State.Open;

    public async ValueTask AppendAsync(ReadOnlyMemory<byte> chunk, CancellationToken cancellationToken = default)
    {
        if (_state != State.Open || chunk.IsEmpty)
        {
            return;
        }

        if (_expectedLength >= 0 && _bodyLength + chunk.Length > _expectedLength)
        {
            // More bytes than announced: the object cannot be committed, so stop spending disk on it now.
            Reject();
            return;
        }

        _hash?.AppendData(chunk.Span);
        _bodyLength += chunk.Length;
        try
        {
            while (!chunk.IsEmpty)
            {
                if (_buffered == 0 && chunk.Length >= BufferSize)
                {
                    await WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
                    return;
                }

                var take = Math.Min(chunk.Length, BufferSize - _buffered);
                chunk[..take].CopyTo(_buffer.AsMemory(_buffered));
                _buffered += take;
                chunk = chunk[take..];
                if (_buffered == BufferSize)
                {
                    await FlushBufferAsync(cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (SsdStore.IsStorageFailure(ex))
        {
            Fail(ex);
        }
        catch (OperationCanceledException)
        {
            Abort();
            throw;
        }
    }

    /// <summary>
    /// Finishes the object. Returns false, storing nothing, when the body length differs from the expected
    /// length, when <paramref name="expectedSha256"/> is given and differs from the body's SHA-256 (the
    /// origin's integrity manifest), or when the disk failed. Returns true once the object is durable and
    /// servable.
    /// </summary>
    public async ValueTask<bool> CommitAsync(byte[]? expectedSha256 = null, CancellationToken cancellationToken = default)
    {
        if (_state != State.Open)
        {
            return false;
        }

        try
        {
            await FlushBufferAsync(cancellationToken).ConfigureAwait(false);
            var sha256 = _knownSha256 ?? _hash!.GetHashAndReset();
            if ((_expectedLength >= 0 && _bodyLength != _expectedLength)
                || (expectedSha256 is not null && !sha256.AsSpan().SequenceEqual(expectedSha256)))
            {
                Reject();
                return false;
            }

            var header = new ObjectHeader(_bodyLength, _store.NextSequence(), _keyHash, _lastModifiedUnixSeconds, sha256, _path, _contentType, _etag);
            var headerBytes = ArrayPool<byte>.Shared.Rent(ObjectHeader.Length);
            try
            {
                header.Write(headerBytes);
                await RandomAccess.WriteAsync(_file!, headerBytes.AsMemory(0, ObjectHeader.Length), 0, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(headerBytes);
            }

            // The body must be on stable storage before the rename makes it visible, or a power cut could
            // leave a renamed file with a hole. (The directory entry itself is not fsynced: recovery drops
            // index entries whose file did not survive, and verifies recovered bodies before serving them.)
            RandomAccess.FlushToDisk(_file!);
            _file!.Dispose();
            _file = null;

            _store.Publish(_keyHash, _partFile!, header);
            _partFile = null;
            _state = State.Committed;
            _store.RecordWriteSuccess();
            return true;
        }
        catch (Exception ex) when (SsdStore.IsStorageFailure(ex))
        {
            Fail(ex);
            return false;
        }
        catch (OperationCanceledException)
        {
            Abort();
            throw;
        }
        finally
        {
            ReleaseBuffer();
        }
    }

    /// <summary>Drops the write: the part file is deleted and nothing is stored.</summary>
    public ValueTask AbortAsync()
    {
        Abort();
        return ValueTask.CompletedTask;
    }

    public void Dispose()
    {
        if (_state == State.Open)
        {
            Abort();
        }

        ReleaseBuffer();
        _hash?.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private async ValueTask FlushBufferAsync(CancellationToken cancellationToken)
    {
        if (_buffered > 0)
        {
            await WriteAsync(_buffer.AsMemory(0, _buffered), cancellationToken).ConfigureAwait(false);
            _buffered = 0;
        }
    }

    private async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await RandomAccess.WriteAsync(_file!, data, _fileOffset, cancellationToken).ConfigureAwait(false);
        _fileOffset += data.Length;
    }

    private void Fail(Exception ex)
    {
        _state = State.Failed;
        Cleanup();
        _store.RecordWriteFailure(_path, ex);
    }

    private void Reject()
    {
        _state = State.Failed;
        Cleanup();
        _store.RecordIntegrityReject();
    }

    private void Abort()
    {
        if (_state == State.Open)
        {
            _state = State.Aborted;
        }

        Cleanup();
    }

    private void Cleanup()
    {
        _file?.Dispose();
        _file = null;
        if (_partFile is not null)
        {
            _store.DeletePartFile(_partFile);
            _partFile = null;
        }

        ReleaseBuffer();
    }

    private void ReleaseBuffer()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }
    }
}
