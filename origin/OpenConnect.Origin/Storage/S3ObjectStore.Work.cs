using System.Net;
using Amazon.S3;
using Amazon.S3.Model;

namespace OpenConnect.Origin.Storage;

/// <summary>Work objects (<see cref="IWorkObjectStore"/>) under <c>{Prefix}work/</c>, with the same plain S3 calls as publishing.</summary>
public sealed partial class S3ObjectStore : IWorkObjectStore
{
    private string WorkKey(string key) => _options.KeyPrefix + "work/" + key;

    async Task<long> IWorkObjectStore.PutFileAsync(string key, string path, CancellationToken cancellationToken)
    {
        var length = new FileInfo(path).Length;
        await UploadFileAsync(WorkKey(WorkObjectKey.Check(key)), path, length, cancellationToken).ConfigureAwait(false);
        return length;
    }

    async Task<long?> IWorkObjectStore.GetFileAsync(string key, string path, CancellationToken cancellationToken)
    {
        GetObjectResponse response;
        try
        {
            response = await _s3.GetObjectAsync(new GetObjectRequest { BucketName = _options.Bucket, Key = WorkKey(WorkObjectKey.Check(key)) }, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound && ex.ErrorCode != "NoSuchBucket")
        {
            return null;
        }

        using (response)
        {
            var temp = path + ".download-" + Guid.NewGuid().ToString("N");
            try
            {
                long length;
                await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16, FileOptions.Asynchronous))
                {
                    await response.ResponseStream.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
                    await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                    file.Flush(flushToDisk: true);
                    length = file.Length;
                }

                if (response.ContentLength >= 0 && length != response.ContentLength)
                {
                    throw new IOException($"s3://{_options.Bucket}/{WorkKey(key)} ended after {length} of {response.ContentLength} bytes");
                }

                File.Move(temp, path, overwrite: true);
                return length;
            }
            finally
            {
                File.Delete(temp);
            }
        }
    }

    async Task<IReadOnlyList<string>> IWorkObjectStore.ListAsync(string prefix, CancellationToken cancellationToken)
    {
        var root = WorkKey("");
        var full = WorkKey(WorkObjectKey.CheckPrefix(prefix));
        var keys = new List<string>();
        string? continuation = null;
        do
        {
            var page = await _s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = full, ContinuationToken = continuation }, cancellationToken).ConfigureAwait(false);
            keys.AddRange(page.S3Objects?.Select(o => o.Key[root.Length..]) ?? []);
            continuation = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (continuation is not null);

        keys.Sort(StringComparer.Ordinal);
        return keys;
    }

    Task IWorkObjectStore.DeletePrefixAsync(string prefix, CancellationToken cancellationToken) =>
        DeletePrefixAsync(WorkKey(WorkObjectKey.CheckPrefix(prefix)), cancellationToken);
}
