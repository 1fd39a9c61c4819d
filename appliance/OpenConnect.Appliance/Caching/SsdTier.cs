using System.Collections.Concurrent;
using OpenConnect.Appliance.Caching.Policy;
using OpenConnect.Appliance.Storage;
using OpenConnect.Contracts.Content;

namespace OpenConnect.Appliance.Caching;

/// <summary>
/// The SSD tier: <see cref="SsdStore"/> files under a byte-bounded policy (S3-FIFO by default) whose
/// capacity is <c>Appliance:Cache:SsdBytes</c> minus the pinned bytes, the object files kept open
/// between hits (<see cref="OpenObject"/>), and the write claims that make one writer per key. A new
/// object enters the policy's small queue without an SSD write; it is written when the policy promotes
/// it to main (requested again), which bounds SSD writes to objects that proved popular. Pinned objects
/// (<see cref="PinnedObjects"/>) are outside the policy and never evicted by it. Methods named
/// <c>…Locked</c> run under the cache's policy lock, which <see cref="SegmentCache"/> owns and passes in.
/// </summary>
internal sealed class SsdTier : IAsyncDisposable
{
    /// <summary>SSD object files kept open between requests; beyond this a hit opens its file per request.</summary>
    public const int MaxOpenObjects = 8192;

    private readonly Lock _policyLock;
    private readonly IResizablePolicy _policy;
    private readonly PinSet _pins;
    private readonly ConcurrentDictionary<ulong, OpenObject> _open = new();

    /// <summary>SSD writes under way, so a key is written once and others can wait for it.</summary>
    private readonly ConcurrentDictionary<ulong, Task> _pendingWrites = new();
    private readonly List<ulong> _evicted = [];
    private readonly List<ulong> _promoted = [];
    private readonly ApplianceMetrics _metrics;
    private readonly CacheInventory _inventory;
    private readonly ILogger _logger;
    private readonly TimeSpan _playlistTtl;
    private readonly TimeProvider _time;
    private SsdStore? _store;

    /// <summary><paramref name="playlistTtl"/> and <paramref name="time"/>: the freshness of changeable objects read back from the store.</summary>
    public SsdTier(Lock policyLock, IResizablePolicy policy, long capacityBytes, PinSet pins, ApplianceMetrics metrics, CacheInventory inventory, ILogger logger, TimeSpan playlistTtl, TimeProvider time)
    {
        _playlistTtl = playlistTtl;
        _time = time;
        _policyLock = policyLock;
        _policy = policy;
        CapacityBytes = capacityBytes;
        _pins = pins;
        _metrics = metrics;
        _inventory = inventory;
        _logger = logger;
    }

    /// <summary>The tier's size (<c>Appliance:Cache:SsdBytes</c>): the policy's capacity plus the pinned bytes.</summary>
    public long CapacityBytes { get; }

    /// <summary>The store, once <see cref="Open"/> ran (the cache's start step).</summary>
    public SsdStore Store => _store ?? throw new InvalidOperationException("the SSD tier is not open yet (the cache opens it when the host starts)");

    public bool IsOpen => _store is not null;

    /// <summary>The policy's capacity now: the tier minus the pinned bytes.</summary>
    public long PolicyCapacityLocked => _policy.CapacityBytes;

    /// <summary>
    /// Takes the opened store and, after a restart, teaches the policy what it holds (as main-resident
    /// objects) except the pinned ones, which stay outside the policy whose capacity shrinks by their bytes.
    /// Pins whose objects the store no longer holds are dropped first.
    /// </summary>
    public void Open(SsdStore store)
    {
        _store = store;
        // The index holds key hashes only; a content-aware policy gets each object's path from its header
        // (one small read per object, before the lock) so title, position and rendition survive the restart.
        var entries = _policy is IContentAwarePolicy
            ? store.Entries.Select(e => (e.Key, e.Length, Path: _pins.Contains(e.Key) ? null : store.ReadPath(e.Key))).ToList()
            : store.Entries.Select(e => (e.Key, e.Length, Path: (string?)null)).ToList();
        lock (_policyLock)
        {
            foreach (var key in _pins.Keys.Where(k => !store.Contains(k)).ToList())
            {
                _pins.Remove(key, out _);
            }

            ResizeLocked();
            foreach (var (key, length, path) in entries)
            {
                if (_pins.Contains(key))
                {
                    continue;
                }

                ReturnToPolicyLocked(key, length, path);
            }
        }

        UpdateGauges();
    }

    /// <summary>Leases the open file of <paramref name="key"/> when one is open for this path.</summary>
    public bool TryLeaseOpen(ulong key, string path, out OpenObject open) =>
        _open.TryGetValue(key, out open!) && open.Info.Path == path && open.TryAcquire();

    /// <summary>
    /// Opens the object file from the store (verifying its SHA-256 on the first open after a restart) and
    /// leases it; it joins the open set while there is room. Null when the store does not hold it or the read
    /// failed (counted and logged: the request becomes a miss).
    /// </summary>
    public async ValueTask<OpenObject?> OpenAsync(ulong key, string path, CancellationToken cancellationToken)
    {
        var store = _store;
        if (store is null || !(store.IsHealthy || store.Count > 0))
        {
            return null;
        }

        StoredObject? stored;
        try
        {
            stored = await store.OpenAsync(key, path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _metrics.CacheErrors.WithLabels("ssd-read").Inc();
            CacheLog.SsdReadFailed(_logger, path, ex);
            return null;
        }

        if (stored is null)
        {
            return null;
        }

        // The handle now belongs to the open set (or to this response alone when the set is full); the
        // StoredObject wrapper is not disposed.
        // The store keeps no Cache-Control: a changeable object (a playlist) is fresh for the playlist TTL from
        // when its file was written (the fetch or fill that brought it), so after a restart it revalidates.
        var lifetime = FreshnessRule.LifetimeFor(stored.Path, null, _playlistTtl);
        var info = new ObjectInfo(stored.Path, stored.BodyLength, stored.ETag, stored.LastModified, stored.ContentType, ContentTypes.CacheControlFor(stored.Path), lifetime, lifetime is { } ttl ? FreshUntil(stored, ttl) : default);
        var opened = new OpenObject(info, stored.Handle, stored.BodyOffset);
        opened.TryAcquire();
        if (_open.Count < MaxOpenObjects && _open.TryAdd(key, opened))
        {
            // Evicted while it was being opened: do not keep it.
            if (!store.Contains(key) && _open.TryRemove(new KeyValuePair<ulong, OpenObject>(key, opened)))
            {
                opened.Close();
            }
        }
        else
        {
            opened.Close();
        }

        return opened;
    }

    /// <summary>The written time of the object's file plus <paramref name="lifetime"/>, never beyond a lifetime from now (a clock moved back).</summary>
    private DateTimeOffset FreshUntil(StoredObject stored, TimeSpan lifetime)
    {
        var now = _time.GetUtcNow();
        try
        {
            var written = new DateTimeOffset(File.GetLastWriteTimeUtc(stored.Handle), TimeSpan.Zero);
            return written + lifetime < now + lifetime ? written + lifetime : now + lifetime;
        }
        catch (IOException)
        {
            return now;
        }
    }

    /// <summary>Records a request with the policy; true when it holds the key.</summary>
    public bool AccessLocked(ulong key) => _policy.Access(key);

    public bool InPolicyLocked(ulong key) => _policy.Contains(key);

    /// <summary>The SSD policy, for diagnostics and tests; callers hold the policy lock.</summary>
    public IResizablePolicy PolicyLocked => _policy;

    /// <summary>
    /// Offers a fetched object to the policy; true when it should be written now (it is in main). Objects
    /// the policy promoted from probation meanwhile are kept for <see cref="TakePromoted"/>.
    /// </summary>
    /// <param name="key">The object's key.</param>
    /// <param name="size">Body bytes.</param>
    /// <param name="path">The request path: a content-aware policy (<c>video</c>) reads title, rendition and segment from it.</param>
    public bool AdmitFetchedLocked(ulong key, long size, string? path = null)
    {
        bool write;
        _promoted.Clear();
        if (_policy is IContentAwarePolicy aware and ITieredPolicy awareTiered)
        {
            aware.Admit(key, size, path is null ? ContentHint.None : ContentHint.FromPath(path), _evicted, _promoted);
            write = awareTiered.IsInMain(key);
        }
        else if (_policy is ITieredPolicy tiered)
        {
            tiered.Admit(key, size, _evicted, _promoted);
            write = tiered.IsInMain(key);
        }
        else
        {
            write = _policy.Admit(key, size, _evicted);
        }

        DropEvictionsLocked();
        return write;
    }

    /// <summary>The keys the last admission promoted to main (their bodies, if still in RAM, are to be written).</summary>
    public ulong[] TakePromoted()
    {
        lock (_policyLock)
        {
            if (_promoted.Count == 0)
            {
                return [];
            }

            ulong[] promoted = [.. _promoted];
            _promoted.Clear();
            return promoted;
        }
    }

    /// <summary>
    /// Puts an object the tier holds back under the policy as a main-resident entry (after a restart, an
    /// unpin, or a fill of an object already held); <paramref name="path"/>, when known, gives a
    /// content-aware policy the object's hint.
    /// </summary>
    public void ReturnToPolicyLocked(ulong key, long length, string? path = null)
    {
        if (_policy is IContentAwarePolicy aware)
        {
            aware.Restore(key, Math.Max(1, length), path is null ? ContentHint.None : ContentHint.FromPath(path), _evicted);
        }
        else if (_policy is ITieredPolicy tiered)
        {
            tiered.Restore(key, Math.Max(1, length), _evicted);
        }
        else if (!_policy.Access(key))
        {
            _policy.Admit(key, Math.Max(1, length), _evicted);
        }

        DropEvictionsLocked();
    }

    /// <summary>Takes a (newly pinned) object out of the policy without deleting it.</summary>
    public void RemoveFromPolicyLocked(ulong key) => _policy.Remove(key);

    /// <summary>Sets the policy's capacity to the tier minus the pinned bytes, deleting what no longer fits.</summary>
    public void ResizeLocked()
    {
        _policy.Resize(Math.Max(1, CapacityBytes - _pins.Bytes), _evicted);
        DropEvictionsLocked();
    }

    private void DropEvictionsLocked()
    {
        foreach (var key in _evicted)
        {
            if (_pins.Contains(key))
            {
                // Pinned objects are outside the policy; a stale key must never delete a pinned file.
                continue;
            }

            if (_open.TryRemove(key, out var open))
            {
                open.Close();
            }

            if (_store is { } store && store.Remove(key))
            {
                _inventory.Dropped(key, InventoryTier.Ssd);
                _metrics.Evictions.WithLabels("ssd").Inc();
            }
        }

        _evicted.Clear();
    }

    /// <summary>
    /// Deletes <paramref name="key"/> from the tier: out of the policy, its open file closed (responses
    /// holding it finish), its file and index entry gone. Pins are the caller's (the pin set comes first).
    /// </summary>
    public bool RemoveLocked(ulong key)
    {
        var inPolicy = _policy.Remove(key);
        if (_open.TryRemove(key, out var open))
        {
            open.Close();
        }

        if (_store is { } store && store.Remove(key))
        {
            _inventory.Dropped(key, InventoryTier.Ssd);
            return true;
        }

        return inPolicy;
    }

    /// <summary>Completes when every SSD write under way now has ended.</summary>
    public Task PendingWritesAsync() => Task.WhenAll(_pendingWrites.Values);

    /// <summary>The write of <paramref name="key"/> under way, if any.</summary>
    public bool TryGetPendingWrite(ulong key, out Task underWay) => _pendingWrites.TryGetValue(key, out underWay!);

    /// <summary>
    /// Writes a pulled body to SSD, or joins the write of the same key already under way (a player's miss
    /// or a fill). <paramref name="bodySha256"/>: the hash the integrity check computed, if any.
    /// </summary>
    public Task WritePulledAsync(ulong key, ObjectInfo info, byte[] body, byte[]? bodySha256)
    {
        if (!TryClaimWrite(key, out var mine, out var underWay))
        {
            return underWay;
        }

        _ = PulledWriteAsync(key, info, body, bodySha256, mine);
        return mine.Task;
    }

    private async Task PulledWriteAsync(ulong key, ObjectInfo info, byte[] body, byte[]? bodySha256, TaskCompletionSource mine)
    {
        try
        {
            bool pinned;
            lock (_policyLock)
            {
                pinned = _pins.Contains(key);
            }

            // A fill may have stored and pinned the object since this write was decided: it is on SSD already.
            if (!pinned && await WriteObjectAsync(key, info, body, bodySha256, CancellationToken.None).ConfigureAwait(false))
            {
                // Admissions count the eviction policy's objects; a filled (pinned) object is not one.
                _metrics.Admissions.WithLabels("ssd").Inc();
            }
        }
        finally
        {
            ReleaseWrite(key, mine);
        }
    }

    /// <summary>
    /// Makes this caller the one writer of <paramref name="key"/>, or returns the write already under way
    /// (<paramref name="underWay"/>) to wait for. The claim ends with <see cref="ReleaseWrite"/>.
    /// </summary>
    public bool TryClaimWrite(ulong key, out TaskCompletionSource mine, out Task underWay)
    {
        mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        underWay = _pendingWrites.GetOrAdd(key, mine.Task);
        return underWay == mine.Task;
    }

    public void ReleaseWrite(ulong key, TaskCompletionSource mine)
    {
        _pendingWrites.TryRemove(new KeyValuePair<ulong, Task>(key, mine.Task));
        mine.TrySetResult();
    }

    /// <summary>
    /// Writes one object to the store; the caller holds the key's write claim. <paramref name="bodySha256"/>
    /// is the body's SHA-256 when the caller already checked it (fill, or a pull checked against the
    /// integrity manifest), so the body is not hashed again. Storage trouble, and strings the object header
    /// cannot hold (a source's over-long ETag), are counted, logged and returned as false rather than thrown.
    /// </summary>
    public async Task<bool> WriteObjectAsync(ulong key, ObjectInfo info, byte[] body, byte[]? bodySha256, CancellationToken cancellationToken)
    {
        try
        {
            await using var writer = Store.BeginWrite(key, info.Path, body.LongLength, info.ContentType, info.ETag, info.LastModified, bodySha256);
            await writer.AppendAsync(body, cancellationToken).ConfigureAwait(false);
            if (await writer.CommitAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                _inventory.Held(key, info.Path, InventoryTier.Ssd);
                _metrics.SsdBytesWritten.Inc(body.LongLength);
                return true;
            }

            // The store has logged and counted the disk failure.
            _metrics.CacheErrors.WithLabels("ssd-write").Inc();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or ArgumentException)
        {
            _metrics.CacheErrors.WithLabels("ssd-write").Inc();
            CacheLog.SsdWriteFailed(_logger, info.Path, ex);
        }
        finally
        {
            UpdateGauges();
        }

        return false;
    }

    public void UpdateGauges()
    {
        if (_store is { } store)
        {
            _metrics.TierBytes.WithLabels("ssd").Set(store.UsedBytes);
            _metrics.TierObjects.WithLabels("ssd").Set(store.Count);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_pendingWrites.Values).ConfigureAwait(false);
        foreach (var open in _open.Values)
        {
            open.Close();
        }

        _open.Clear();
        if (_store is { } store)
        {
            await store.DisposeAsync().ConfigureAwait(false);
        }
    }
}
