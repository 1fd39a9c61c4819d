using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using OpenConnect.Origin.Storage;

namespace OpenConnect.Origin.Ingest.Shared;

/// <summary>One committed part of an upload's S3 multipart upload.</summary>
internal sealed record UploadPart(int Number, string ETag, long Size);

/// <summary>
/// An upload's bytes in the bucket of <c>Origin:Storage:S3</c>, under
/// <c>{Prefix}uploads/{id}/</c>: one multipart upload into <c>source</c> (parts of a fixed size,
/// the last one shorter), and the bytes received past the last full part in <c>tail-{offset}</c>
/// (a new object per write, named by the offset it ends at, so a crash between writing it and
/// committing it never leaves the committed tail changed). Plain S3 calls only.
/// </summary>
internal sealed class UploadObjects(IAmazonS3 s3, S3StoreOptions options)
{
    public string SourceKey(string id) => $"{Prefix(id)}source";

    public string TailKey(string id, long endOffset) => $"{Prefix(id)}tail-{endOffset.ToString(CultureInfo.InvariantCulture)}";

    public async Task<string> StartAsync(string id, CancellationToken cancellationToken) =>
        (await Call(() => s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = options.Bucket, Key = SourceKey(id) }, cancellationToken)).ConfigureAwait(false)).UploadId;

    public async Task<string> UploadPartAsync(string id, string multipartId, int number, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        var (stream, md5) = Body(bytes);
        var response = await Call(() => s3.UploadPartAsync(new UploadPartRequest
        {
            BucketName = options.Bucket,
            Key = SourceKey(id),
            UploadId = multipartId,
            PartNumber = number,
            InputStream = stream,
            PartSize = bytes.Length,
            MD5Digest = md5,
            UseChunkEncoding = false,
        }, cancellationToken)).ConfigureAwait(false);
        return response.ETag;
    }

    public Task PutTailAsync(string key, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        var (stream, md5) = Body(bytes);
        return Call(() => s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = options.Bucket,
            Key = key,
            InputStream = stream,
            MD5Digest = md5,
            UseChunkEncoding = false,
        }, cancellationToken));
    }

    /// <summary>Reads the tail object into <paramref name="target"/>, which must be exactly its length.</summary>
    public async Task ReadTailAsync(string key, Memory<byte> target, CancellationToken cancellationToken)
    {
        using var response = await Call(() => s3.GetObjectAsync(new GetObjectRequest { BucketName = options.Bucket, Key = key }, cancellationToken)).ConfigureAwait(false);
        if (response.ContentLength != target.Length)
        {
            throw new UploadStoreException(StatusCodes.Status500InternalServerError, $"the upload's tail object {key} holds {response.ContentLength} bytes, its record says {target.Length}");
        }

        await response.ResponseStream.ReadExactlyAsync(target, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Completes the multipart upload into the source object; one completed before (then the multipart upload is gone) counts as done.</summary>
    public async Task CompleteAsync(string id, string multipartId, IReadOnlyList<UploadPart> parts, CancellationToken cancellationToken)
    {
        try
        {
            await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = options.Bucket,
                Key = SourceKey(id),
                UploadId = multipartId,
                PartETags = [.. parts.Select(p => new PartETag(p.Number, p.ETag))],
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode == "NoSuchUpload")
        {
            // Completed before a crash kept it from being recorded: the source object is there.
            if (!await ExistsAsync(SourceKey(id), cancellationToken).ConfigureAwait(false))
            {
                throw new UploadStoreException(StatusCodes.Status500InternalServerError, $"upload {id}: its multipart upload is gone and no source object was made from it", ex);
            }
        }
        catch (Exception ex) when (ex is AmazonServiceException or HttpRequestException or IOException)
        {
            throw Unavailable(ex);
        }
    }

    public Task PutEmptySourceAsync(string id, CancellationToken cancellationToken) =>
        Call(() => s3.PutObjectAsync(new PutObjectRequest { BucketName = options.Bucket, Key = SourceKey(id), InputStream = new MemoryStream([], writable: false), UseChunkEncoding = false }, cancellationToken));

    /// <summary>Downloads the source object to <paramref name="path"/> (through a temporary file, so the path only ever holds the whole source).</summary>
    public async Task DownloadSourceAsync(string id, string path, CancellationToken cancellationToken)
    {
        var temp = path + ".download";
        using (var response = await Call(() => s3.GetObjectAsync(new GetObjectRequest { BucketName = options.Bucket, Key = SourceKey(id) }, cancellationToken)).ConfigureAwait(false))
        await using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
        {
            await response.ResponseStream.CopyToAsync(file, 1 << 20, cancellationToken).ConfigureAwait(false);
            file.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Aborts the multipart upload (when there is one) and deletes every object of the upload. Best effort for the abort: some servers (s3rver) do not implement it.</summary>
    public async Task DeleteAllAsync(string id, string? multipartId, CancellationToken cancellationToken)
    {
        if (multipartId is not null)
        {
            try
            {
                await s3.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = options.Bucket, Key = SourceKey(id), UploadId = multipartId }, cancellationToken).ConfigureAwait(false);
            }
            catch (AmazonS3Exception ex) when (ex.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed or HttpStatusCode.NotImplemented)
            {
                // Already gone, or not offered by this server; a lifecycle rule for incomplete multipart uploads cleans up after it.
            }
        }

        var listed = await Call(() => s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = options.Bucket, Prefix = Prefix(id) }, cancellationToken)).ConfigureAwait(false);
        foreach (var item in listed.S3Objects ?? [])
        {
            await DeleteAsync(item.Key, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken) =>
        Call(() => s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = options.Bucket, Key = key }, cancellationToken));

    private async Task<bool> ExistsAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            await s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = options.Bucket, Key = key }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    private string Prefix(string id) => $"{options.KeyPrefix}uploads/{id}/";

    private static (MemoryStream Stream, string Md5) Body(ReadOnlyMemory<byte> bytes)
    {
        var stream = MemoryMarshal.TryGetArray(bytes, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(bytes.ToArray(), writable: false);

        // Content-MD5: S3 refuses a part that arrives damaged instead of storing it.
        return (stream, Convert.ToBase64String(MD5.HashData(bytes.Span)));
    }

    private static async Task<T> Call<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AmazonServiceException or HttpRequestException or IOException)
        {
            throw Unavailable(ex);
        }
    }

    private static UploadStoreException Unavailable(Exception ex) =>
        new(StatusCodes.Status503ServiceUnavailable, $"the upload object store is unavailable ({ex.Message}); retry later", ex);
}
