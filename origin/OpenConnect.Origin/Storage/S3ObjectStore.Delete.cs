using Amazon.S3.Model;
using OpenConnect.Contracts.Content;

namespace OpenConnect.Origin.Storage;

/// <summary>Removing content: a deleted title's pointer and versions, and versions no pointer names any more.</summary>
public sealed partial class S3ObjectStore
{
    /// <summary>A version younger than this that no pointer names may be another instance's publish in progress, so it is left alone.</summary>
    internal static readonly TimeSpan UnfinishedUploadAge = TimeSpan.FromHours(1);

    public bool Delete(string titleId) => DeleteAsync(titleId, CancellationToken.None).GetAwaiter().GetResult();

    public async Task<bool> DeleteAsync(string titleId, CancellationToken cancellationToken)
    {
        if (!ContentKey.IsValidTitleId(titleId) || await ReadPointerAsync(titleId, cancellationToken).ConfigureAwait(false) is null)
        {
            return false;
        }

        // The pointer first: from then on no reader resolves the title, whatever is left below it.
        await DeleteKeysAsync([PointerKey(titleId)], cancellationToken).ConfigureAwait(false);
        _pointers.TryRemove(titleId, out _);
        await DeletePrefixAsync(TitlePrefix(titleId), cancellationToken).ConfigureAwait(false);
        Log.Deleted(_logger, titleId);
        return true;
    }

    /// <summary>
    /// After a publish: the replaced version, and versions a crash or an earlier failure left behind
    /// (no pointer names them and they are older than <see cref="UnfinishedUploadAge"/>), are deleted
    /// once <see cref="S3StoreOptions.ReplacedRetention"/> has passed. Each gets a marker
    /// <c>{Prefix}retired/{title}/{version}</c> first, so an origin that stops before then finishes
    /// the deletion when it starts again (<see cref="ResumeRetirementsAsync"/>).
    /// </summary>
    private async Task RetireOldVersionsAsync(string titleId, string current, string? previous, CancellationToken cancellationToken)
    {
        var abandonedBefore = _time.GetUtcNow() - UnfinishedUploadAge;
        var retired = new List<string>();
        string? continuation = null;
        do
        {
            var page = await _s3.ListObjectsV2Async(new ListObjectsV2Request
            {
                BucketName = _options.Bucket,
                Prefix = TitlePrefix(titleId),
                Delimiter = "/",
                ContinuationToken = continuation,
            }, cancellationToken).ConfigureAwait(false);
            foreach (var prefix in page.CommonPrefixes ?? [])
            {
                var version = prefix[TitlePrefix(titleId).Length..].TrimEnd('/');
                if (version != current && (version == previous || PublishedVersion.CreatedAt(version) < abandonedBefore))
                {
                    retired.Add(version);
                }
            }

            continuation = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (continuation is not null);

        foreach (var version in retired)
        {
            await PutBytesAsync(RetiredKey(titleId, version), [], cancellationToken).ConfigureAwait(false);
        }

        if (retired.Count > 0)
        {
            _ = DeleteVersionsLaterAsync(titleId, retired, _options.ReplacedRetention);
        }
    }

    /// <summary>
    /// At start: the deletions a previous run scheduled and did not finish, each when its retention
    /// ends (the marker's time plus <see cref="S3StoreOptions.ReplacedRetention"/>), or at once when it has.
    /// </summary>
    public async Task ResumeRetirementsAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        string? continuation = null;
        do
        {
            var page = await _s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = _retiredPrefix, ContinuationToken = continuation }, cancellationToken).ConfigureAwait(false);
            foreach (var marker in page.S3Objects ?? [])
            {
                var parts = marker.Key[_retiredPrefix.Length..].Split('/');
                if (parts.Length == 2 && ContentKey.IsValidTitleId(parts[0]) && PublishedVersion.IsValidId(parts[1]))
                {
                    var due = new DateTimeOffset(marker.LastModified ?? now.UtcDateTime, TimeSpan.Zero) + _options.ReplacedRetention;
                    _ = DeleteVersionsLaterAsync(parts[0], [parts[1]], due > now ? due - now : TimeSpan.Zero);
                }
            }

            continuation = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (continuation is not null);
    }

    private async Task DeleteVersionsLaterAsync(string titleId, List<string> versions, TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, _time, _stopping.Token).ConfigureAwait(false);
            var current = await ReadPointerAsync(titleId, _stopping.Token).ConfigureAwait(false);
            foreach (var version in versions)
            {
                if (version != current)
                {
                    await DeletePrefixAsync(VersionPrefix(titleId, version), _stopping.Token).ConfigureAwait(false);
                    _versions.TryRemove(titleId + "/" + version, out _);
                    Log.Retired(_logger, titleId, version);
                }

                await DeleteKeysAsync([RetiredKey(titleId, version)], _stopping.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Stopping: the markers stay, and the next start finishes these deletions.
        }
        catch (Exception ex)
        {
            Log.RetireFailed(_logger, titleId, ex);
        }
    }

    private string RetiredKey(string titleId, string versionId) => _retiredPrefix + titleId + "/" + versionId;

    /// <summary>Every object under <paramref name="prefix"/>, in batches of up to 1000 keys.</summary>
    private async Task DeletePrefixAsync(string prefix, CancellationToken cancellationToken)
    {
        string? previousFirst = null;
        while (true)
        {
            var page = await _s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = prefix, MaxKeys = 1000 }, cancellationToken).ConfigureAwait(false);
            var keys = page.S3Objects?.Select(o => o.Key).ToList() ?? [];
            if (keys.Count == 0)
            {
                return;
            }

            if (keys[0] == previousFirst)
            {
                throw new IOException($"s3://{_options.Bucket}/{keys[0]} is still listed after it was deleted");
            }

            previousFirst = keys[0];
            await DeleteKeysAsync(keys, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task DeleteKeysAsync(List<string> keys, CancellationToken cancellationToken)
    {
        var response = await _s3.DeleteObjectsAsync(new DeleteObjectsRequest
        {
            BucketName = _options.Bucket,
            Objects = keys.ConvertAll(k => new KeyVersion { Key = k }),
            Quiet = true,
        }, cancellationToken).ConfigureAwait(false);
        if (response.DeleteErrors is { Count: > 0 } errors)
        {
            throw new IOException($"s3://{_options.Bucket}: {errors.Count} objects could not be deleted, e.g. {errors[0].Key}: {errors[0].Code} {errors[0].Message}");
        }
    }
}
