using System.Security.Cryptography;
using Amazon.S3.Model;
using OpenConnect.Contracts.Content;

namespace OpenConnect.Origin.Storage;

/// <summary>Publishing: a package uploaded as a new version, committed by writing the title's pointer last.</summary>
public sealed partial class S3ObjectStore
{
    public async Task PublishAsync(string titleId, string stagingDirectory, CancellationToken cancellationToken)
    {
        if (!ContentKey.IsValidTitleId(titleId))
        {
            throw new ArgumentException($"'{titleId}' is not a valid title id", nameof(titleId));
        }

        if (!Directory.Exists(stagingDirectory))
        {
            throw new DirectoryNotFoundException($"staging directory '{stagingDirectory}' does not exist");
        }

        var files = PackageFiles(stagingDirectory);
        var previous = await ReadPointerAsync(titleId, cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var version = new PublishedVersion(PublishedVersion.NewId(now), now, files.ToDictionary(f => f.Name, f => f.Length, StringComparer.Ordinal));
        try
        {
            // A failed upload must not cancel the others: a cancelled PUT can still be stored by the
            // server after the clean-up below has listed the version, leaving an object behind. So
            // each upload runs to its end, no new one starts after a failure, and the first failure
            // is thrown once all have ended.
            var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = _options.UploadConcurrency, CancellationToken = cancellationToken };
            await Parallel.ForEachAsync(files, parallel, async (file, token) =>
            {
                if (!failures.IsEmpty)
                {
                    return;
                }

                try
                {
                    await UploadFileAsync(ObjectKey(titleId, version.Id, file.Name), file.Path, file.Length, token).ConfigureAwait(false);
                }
                catch (Exception e) when (!token.IsCancellationRequested)
                {
                    failures.Enqueue(e);
                }
            }).ConfigureAwait(false);
            if (failures.TryPeek(out var failure))
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
            }

            await PutBytesAsync(ObjectKey(titleId, version.Id, IndexName), version.ToJsonBytes(), cancellationToken).ConfigureAwait(false);
            // The commit point: from here on readers resolve the new version.
            await PutBytesAsync(PointerKey(titleId), System.Text.Encoding.ASCII.GetBytes(version.Id), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.PublishFailed(_logger, titleId, version.Id, ex);
            await DeleteUnpublishedAsync(titleId, version.Id).ConfigureAwait(false);
            throw;
        }

        Remember(titleId, version);
        _pointers[titleId] = new CachedPointer(Task.FromResult<PublishedVersion?>(version), _time.GetUtcNow() + _options.PointerCacheTime);
        Log.Published(_logger, titleId, version.Id, files.Count, files.Sum(f => f.Length));
        Directory.Delete(stagingDirectory, recursive: true);

        try
        {
            // Housekeeping after the commit: the caller's cancellation no longer applies, only stopping.
            await RetireOldVersionsAsync(titleId, version.Id, previous, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Published all the same; the next publish of the title looks for old versions again.
            Log.RetireFailed(_logger, titleId, ex);
        }
    }

    /// <summary>Best effort: what a failed publish uploaded (no pointer names it, so no reader sees it either way).</summary>
    private async Task DeleteUnpublishedAsync(string titleId, string versionId)
    {
        try
        {
            await DeletePrefixAsync(VersionPrefix(titleId, versionId), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.RetireFailed(_logger, titleId, ex);
        }
    }

    /// <summary>
    /// The files of a package that can be served: title-level files and one level of rendition
    /// folders with valid content-key names. Anything else could never be requested, so it is not uploaded.
    /// </summary>
    private static List<(string Name, string Path, long Length)> PackageFiles(string directory)
    {
        var root = Path.GetFullPath(directory);
        var files = new List<(string, string, long)>();
        foreach (var info in new DirectoryInfo(root).EnumerateFiles("*", SearchOption.AllDirectories))
        {
            var name = Path.GetRelativePath(root, info.FullName).Replace(Path.DirectorySeparatorChar, '/');
            var parts = name.Split('/');
            var servable = parts.Length switch
            {
                1 => ContentKey.IsValidFileName(parts[0]),
                2 => ContentKey.IsValidRendition(parts[0]) && ContentKey.IsValidFileName(parts[1]),
                _ => false,
            };
            if (servable)
            {
                files.Add((name, info.FullName, info.Length));
            }
        }

        return files;
    }

    private async Task UploadFileAsync(string key, string path, long length, CancellationToken cancellationToken)
    {
        if (length > _options.MultipartThresholdBytes)
        {
            await UploadMultipartAsync(key, path, length, cancellationToken).ConfigureAwait(false);
            return;
        }

        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.Asynchronous);
        var md5 = await ContentMd5Async(stream, length, cancellationToken).ConfigureAwait(false);
        stream.Position = 0;
        await _s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = _options.Bucket,
            Key = key,
            InputStream = stream,
            AutoCloseStream = false,
            MD5Digest = md5,
            UseChunkEncoding = false,
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A large file in parts; an upload that fails is aborted, so no part outlives it and no object appears.</summary>
    private async Task UploadMultipartAsync(string key, string path, long length, CancellationToken cancellationToken)
    {
        var started = await _s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = _options.Bucket, Key = key }, cancellationToken).ConfigureAwait(false);
        try
        {
            var parts = new List<PartETag>();
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.Asynchronous);
            for (var (offset, number) = (0L, 1); offset < length; offset += _options.PartSizeBytes, number++)
            {
                var size = Math.Min(_options.PartSizeBytes, length - offset);
                stream.Position = offset;
                var md5 = await ContentMd5Async(stream, size, cancellationToken).ConfigureAwait(false);
                var part = await _s3.UploadPartAsync(new UploadPartRequest
                {
                    BucketName = _options.Bucket,
                    Key = key,
                    UploadId = started.UploadId,
                    PartNumber = number,
                    FilePath = path,
                    FilePosition = offset,
                    PartSize = size,
                    MD5Digest = md5,
                    UseChunkEncoding = false,
                }, cancellationToken).ConfigureAwait(false);
                parts.Add(new PartETag(number, part.ETag));
            }

            await _s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = _options.Bucket,
                Key = key,
                UploadId = started.UploadId,
                PartETags = parts,
            }, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await _s3.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = _options.Bucket, Key = key, UploadId = started.UploadId }, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    private Task PutBytesAsync(string key, byte[] content, CancellationToken cancellationToken) =>
        _s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = _options.Bucket,
            Key = key,
            InputStream = new MemoryStream(content, writable: false),
            MD5Digest = Convert.ToBase64String(MD5.HashData(content)),
            UseChunkEncoding = false,
        }, cancellationToken);

    /// <summary>
    /// The <c>Content-MD5</c> of the next <paramref name="length"/> bytes: S3 refuses a body that
    /// arrives damaged instead of storing it. (An integrity check on the wire, not a security one.)
    /// </summary>
    private static async Task<string> ContentMd5Async(Stream stream, long length, CancellationToken cancellationToken)
    {
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            for (var left = length; left > 0;)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new IOException($"{stream} ended {left} bytes early while it was being uploaded");
                }

                md5.AppendData(buffer, 0, read);
                left -= read;
            }

            return Convert.ToBase64String(md5.GetHashAndReset());
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
