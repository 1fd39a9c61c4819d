using System.Buffers;
using Amazon.S3;
using Amazon.S3.Model;

namespace OpenConnect.Origin.Storage;

/// <summary>
/// One object of a published version, read with ranged GETs: seekable over the length the version's
/// index recorded, and nothing is requested until the first read, so HEAD and 304 answers cost no
/// S3 call and a byte range costs one GET from its first byte. Objects of a version are immutable,
/// so a reopened GET continues the same bytes; a body that is shorter or longer than the index says
/// is an error, never served as if complete. Told the range before reading (<see cref="IByteRangeHint"/>),
/// the GET asks for that range alone.
/// </summary>
internal sealed class S3ObjectStream : Stream, IByteRangeHint
{
    private readonly IAmazonS3 _s3;
    private readonly string _bucket;
    private readonly string _key;
    private readonly long _length;
    private long _position;
    private long _expectedFrom = -1;
    private long _expectedTo;
    private long _bodyEnd;
    private GetObjectResponse? _response;
    private Stream? _body;

    public S3ObjectStream(IAmazonS3 s3, string bucket, string key, long length)
    {
        _s3 = s3;
        _bucket = bucket;
        _key = key;
        _length = length;
    }

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set => Seek(value, SeekOrigin.Begin);
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        var target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => _length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        ArgumentOutOfRangeException.ThrowIfNegative(target, nameof(offset));
        if (target != _position)
        {
            CloseBody();
            _position = target;
        }

        return _position;
    }

    public void ExpectRange(long from, long to)
    {
        (_expectedFrom, _expectedTo) = (from, Math.Min(to, _length - 1));
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty || _position >= _length)
        {
            return 0;
        }

        if (_body is not null && _position > _bodyEnd)
        {
            CloseBody(); // read past the expected range: continue with a GET to the end
        }

        var body = _body ?? await OpenBodyAsync(cancellationToken).ConfigureAwait(false);
        var wanted = (int)Math.Min(buffer.Length, _bodyEnd - _position + 1);
        var read = await body.ReadAsync(buffer[..wanted], cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            throw new IOException($"s3://{_bucket}/{_key} ended at byte {_position} of {_length}");
        }

        _position += read;
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        // Synchronous callers (rare: the parent endpoint copies asynchronously) block on the GET.
        var rented = ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            var read = ReadAsync(rented.AsMemory(0, buffer.Length), CancellationToken.None).AsTask().GetAwaiter().GetResult();
            rented.AsSpan(0, read).CopyTo(buffer);
            return read;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private async Task<Stream> OpenBodyAsync(CancellationToken cancellationToken)
    {
        var end = _position == _expectedFrom && _expectedTo >= _position ? _expectedTo : _length - 1;
        var request = new GetObjectRequest
        {
            BucketName = _bucket,
            Key = _key,
            ByteRange = new ByteRange(_position, end),
        };
        var response = await _s3.GetObjectAsync(request, cancellationToken).ConfigureAwait(false);
        var expected = end - _position + 1;
        if (response.ContentLength != expected)
        {
            response.Dispose();
            throw new IOException($"s3://{_bucket}/{_key} answered {response.ContentLength} bytes for bytes {_position}-{end}; the version's index expects {expected}");
        }

        _response = response;
        _body = response.ResponseStream;
        _bodyEnd = end;
        return _body;
    }

    private void CloseBody()
    {
        _body?.Dispose();
        _response?.Dispose();
        _body = null;
        _response = null;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            CloseBody();
        }

        base.Dispose(disposing);
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
