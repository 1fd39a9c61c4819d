using System.Collections.Concurrent;
using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using OpenConnect.Contracts.Content;

namespace OpenConnect.Origin.Storage;

/// <summary>
/// Published titles in an S3-compatible bucket, with only the calls AWS S3, MinIO and Ceph RGW all
/// implement (PutObject, multipart upload, GetObject with ranges, ListObjectsV2, DeleteObjects).
/// </summary>
/// <remarks>
/// <para>Layout under <c>{Prefix}published/{title}/</c>: each publish uploads the package under a
/// fresh version, <c>{version}/{file}</c>, then the version's index (<c>{version}/.index.json</c>,
/// every file's length), then writes the pointer <c>current</c> (the version id) last. Readers resolve
/// the pointer, so they see the old version or the new one, never a mix, and never a version whose
/// upload is unfinished (S3 shows an object only once its upload completed; the pointer names a
/// version only after all of it is there).</para>
/// <para>The pointer is cached for <see cref="S3StoreOptions.PointerCacheTime"/>; this process's own
/// publishes and deletes replace or drop the cached entry at once. A replaced version is deleted
/// <see cref="S3StoreOptions.ReplacedRetention"/> later, so readers that resolved it just before
/// still finish on it; a marker under <c>{Prefix}retired/</c> carries that deletion over a restart.
/// Delete removes the pointer first, then every version.</para>
/// </remarks>
public sealed partial class S3ObjectStore : IObjectStore, IDisposable
{
    internal const string PointerName = "current";
    internal const string IndexName = ".index.json";
    private const int MaxCachedVersions = 4096;
    private const int MaxCachedPointers = 65_536;

    private readonly IAmazonS3 _s3;
    private readonly S3StoreOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _titlesPrefix;
    private readonly string _retiredPrefix;
    private readonly ConcurrentDictionary<string, CachedPointer> _pointers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PublishedVersion> _versions = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();

    public S3ObjectStore(IAmazonS3 s3, S3StoreOptions options, TimeProvider time, ILogger<S3ObjectStore> logger)
    {
        _s3 = s3;
        _options = options;
        _time = time;
        _logger = logger;
        _titlesPrefix = options.KeyPrefix + "published/";
        _retiredPrefix = options.KeyPrefix + "retired/";
    }

    public string Bucket => _options.Bucket;

    public StoredObject? Open(ContentKey key) => OpenAsync(key, CancellationToken.None).AsTask().GetAwaiter().GetResult();

    public async ValueTask<StoredObject?> OpenAsync(ContentKey key, CancellationToken cancellationToken)
    {
        var version = await ResolveAsync(key.TitleId, cancellationToken).ConfigureAwait(false);
        var file = key.Rendition is null ? key.FileName : string.Concat(key.Rendition, "/", key.FileName);
        if (version is null || !version.Files.TryGetValue(file, out var length))
        {
            return null;
        }

        var stream = new S3ObjectStream(_s3, _options.Bucket, ObjectKey(key.TitleId, version.Id, file), length);
        return new StoredObject(stream, length, version.Published);
    }

    public bool IsPublished(string titleId) => IsPublishedAsync(titleId, CancellationToken.None).AsTask().GetAwaiter().GetResult();

    public async ValueTask<bool> IsPublishedAsync(string titleId, CancellationToken cancellationToken) =>
        ContentKey.IsValidTitleId(titleId) && await ResolveAsync(titleId, cancellationToken).ConfigureAwait(false) is not null;

    /// <summary>
    /// Checks at start that the bucket exists and the credentials may list it, creating the bucket
    /// when <paramref name="create"/> allows; otherwise fails with the setting to change.
    /// </summary>
    public async Task CheckBucketAsync(bool create, CancellationToken cancellationToken)
    {
        var endpoint = _options.ServiceUrl.Length > 0 ? _options.ServiceUrl : $"AWS S3 ({_options.Region})";
        if (Uri.TryCreate(_options.ServiceUrl, UriKind.Absolute, out var url) && url.Scheme == Uri.UriSchemeHttp && !url.IsLoopback)
        {
            Log.PlainHttp(_logger, _options.ServiceUrl);
        }

        try
        {
            await _s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = _titlesPrefix, MaxKeys = 1 }, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode == "NoSuchBucket" && create)
        {
            await _s3.PutBucketAsync(new PutBucketRequest { BucketName = _options.Bucket }, cancellationToken).ConfigureAwait(false);
            Log.BucketCreated(_logger, _options.Bucket, endpoint);
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode == "NoSuchBucket")
        {
            throw new InvalidOperationException(
                $"{ObjectStoreOptions.SectionKey}:S3:Bucket = '{_options.Bucket}' does not exist at {endpoint}: create it, or set {ObjectStoreOptions.SectionKey}:S3:CreateBucket=true", ex);
        }
        catch (AmazonS3Exception ex)
        {
            throw new InvalidOperationException($"{ObjectStoreOptions.SectionKey}:S3: {endpoint} refused to list bucket '{_options.Bucket}' ({ex.ErrorCode}: {ex.Message}); check AccessKey and the secret", ex);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or AmazonClientException)
        {
            throw new InvalidOperationException($"{ObjectStoreOptions.SectionKey}:S3:ServiceUrl: {endpoint} could not be reached ({ex.Message})", ex);
        }
    }

    /// <summary>The title's current version, from the cache while it is fresh.</summary>
    private async ValueTask<PublishedVersion?> ResolveAsync(string titleId, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (_pointers.TryGetValue(titleId, out var cached) && cached.FreshUntil > now && !cached.Lookup.IsFaulted && !cached.Lookup.IsCanceled)
        {
            return await cached.Lookup.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        // Readers of a stale title that come while its lookup runs share it; it is not tied to any one request.
        var entry = new CachedPointer(LoadCurrentAsync(titleId, _stopping.Token), now + _options.PointerCacheTime);
        PruneIfFull(now);
        _pointers[titleId] = entry;
        try
        {
            return await entry.Lookup.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (entry.Lookup.IsFaulted || entry.Lookup.IsCanceled)
        {
            _pointers.TryRemove(new KeyValuePair<string, CachedPointer>(titleId, entry));
            throw;
        }
    }

    /// <summary>
    /// Keeps the pointer cache bounded: requests name any title id (posters are public), and absent
    /// titles are cached too. Expired entries go first; if that is not enough, all of them.
    /// </summary>
    private void PruneIfFull(DateTimeOffset now)
    {
        if (_pointers.Count < MaxCachedPointers)
        {
            return;
        }

        foreach (var (title, cached) in _pointers)
        {
            if (cached.FreshUntil <= now)
            {
                _pointers.TryRemove(new KeyValuePair<string, CachedPointer>(title, cached));
            }
        }

        if (_pointers.Count >= MaxCachedPointers)
        {
            _pointers.Clear();
        }
    }

    private async Task<PublishedVersion?> LoadCurrentAsync(string titleId, CancellationToken cancellationToken)
    {
        var pointer = await ReadPointerAsync(titleId, cancellationToken).ConfigureAwait(false);
        return pointer is null ? null : await LoadVersionAsync(titleId, pointer, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The version the title's pointer names, or null when it has none.</summary>
    private async Task<string?> ReadPointerAsync(string titleId, CancellationToken cancellationToken)
    {
        var key = PointerKey(titleId);
        var bytes = await GetSmallObjectAsync(key, cancellationToken).ConfigureAwait(false);
        if (bytes is null)
        {
            return null;
        }

        var id = System.Text.Encoding.ASCII.GetString(bytes).Trim();
        return PublishedVersion.IsValidId(id) ? id : throw new InvalidDataException($"s3://{_options.Bucket}/{key} does not name a version");
    }

    /// <summary>A version's index (cached: a version never changes), or null when it is gone (deleted meanwhile).</summary>
    private async Task<PublishedVersion?> LoadVersionAsync(string titleId, string versionId, CancellationToken cancellationToken)
    {
        var cacheKey = titleId + "/" + versionId;
        if (_versions.TryGetValue(cacheKey, out var known))
        {
            return known;
        }

        var key = ObjectKey(titleId, versionId, IndexName);
        var bytes = await GetSmallObjectAsync(key, cancellationToken).ConfigureAwait(false);
        if (bytes is null)
        {
            return null;
        }

        var version = PublishedVersion.Parse(bytes, $"s3://{_options.Bucket}/{key}");
        Remember(titleId, version);
        return version;
    }

    private void Remember(string titleId, PublishedVersion version)
    {
        if (_versions.Count >= MaxCachedVersions)
        {
            _versions.Clear();
        }

        _versions[titleId + "/" + version.Id] = version;
    }

    /// <summary>The whole body of a small object (pointer, index), or null when it does not exist.</summary>
    private async Task<byte[]?> GetSmallObjectAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _s3.GetObjectAsync(new GetObjectRequest { BucketName = _options.Bucket, Key = key }, cancellationToken).ConfigureAwait(false);
            using var buffer = new MemoryStream();
            await response.ResponseStream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            return buffer.ToArray();
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound && ex.ErrorCode != "NoSuchBucket")
        {
            return null;
        }
    }

    private string TitlePrefix(string titleId) => _titlesPrefix + titleId + "/";

    private string PointerKey(string titleId) => TitlePrefix(titleId) + PointerName;

    private string VersionPrefix(string titleId, string versionId) => TitlePrefix(titleId) + versionId + "/";

    private string ObjectKey(string titleId, string versionId, string file) => VersionPrefix(titleId, versionId) + file;

    public void Dispose()
    {
        // Pending deletions of replaced versions stop; the next publish of their title finds them again.
        _stopping.Cancel();
        _s3.Dispose();
    }

    private sealed record CachedPointer(Task<PublishedVersion?> Lookup, DateTimeOffset FreshUntil);

    private static partial class Log
    {
        [LoggerMessage(EventId = 3401, Level = LogLevel.Information, Message = "Title {TitleId} published to the object store as version {Version}: {Files} files, {Bytes} bytes")]
        public static partial void Published(ILogger logger, string titleId, string version, int files, long bytes);

        [LoggerMessage(EventId = 3402, Level = LogLevel.Error, Message = "Publishing title {TitleId} as version {Version} failed; the previous version stays current")]
        public static partial void PublishFailed(ILogger logger, string titleId, string version, Exception exception);

        [LoggerMessage(EventId = 3403, Level = LogLevel.Information, Message = "Title {TitleId}: replaced version {Version} deleted")]
        public static partial void Retired(ILogger logger, string titleId, string version);

        [LoggerMessage(EventId = 3404, Level = LogLevel.Warning, Message = "Title {TitleId}: deleting versions no pointer names failed; the next publish of the title tries again")]
        public static partial void RetireFailed(ILogger logger, string titleId, Exception exception);

        [LoggerMessage(EventId = 3406, Level = LogLevel.Information, Message = "Bucket {Bucket} did not exist at {Endpoint} and was created (Origin:Storage:S3:CreateBucket)")]
        public static partial void BucketCreated(ILogger logger, string bucket, string endpoint);

        [LoggerMessage(EventId = 3407, Level = LogLevel.Warning, Message = "Origin:Storage:S3:ServiceUrl {ServiceUrl} is plain http to another host: published objects and signed requests cross the network unencrypted; use https unless that network is trusted")]
        public static partial void PlainHttp(ILogger logger, string serviceUrl);

        [LoggerMessage(EventId = 3405, Level = LogLevel.Information, Message = "Title {TitleId} deleted from the object store")]
        public static partial void Deleted(ILogger logger, string titleId);
    }
}
