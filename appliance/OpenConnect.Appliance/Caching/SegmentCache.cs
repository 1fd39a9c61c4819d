using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using OpenConnect.Appliance.Caching.Policy;
using OpenConnect.Appliance.Storage;
using OpenConnect.Appliance.Upstream;
using OpenConnect.Contracts.Content;

namespace OpenConnect.Appliance.Caching;

/// <summary>
/// The two-tier cache. The RAM tier holds object bodies in memory for the hottest objects; the SSD
/// tier (<see cref="SsdStore"/>) holds the rest as files served with sendfile. Each tier has its own
/// byte-bounded policy from <see cref="PolicyFactory"/>:
/// <list type="bullet">
/// <item>SSD: admission and eviction by the policy (S3-FIFO by default). A new object enters the
/// policy's small queue without an SSD write; it is written when the policy promotes it to main
/// (requested again), which bounds SSD writes to objects that proved popular.</item>
/// <item>RAM: every fetched body and every SSD hit is offered to the RAM policy (promotion); a body
/// evicted from RAM stays on SSD if the SSD policy holds it (demotion is a drop, not a write).</item>
/// </list>
/// Policies are not thread-safe and are O(1), so one lock serialises them; bodies are never copied
/// under it.
/// </summary>
public sealed partial class SegmentCache : IAsyncDisposable
{
    private readonly Lock _policyLock = new();
    private readonly IEvictionPolicy _ram;
    private readonly IResizablePolicy _ssd;
    private readonly PinSet _pins;
    private readonly long _ssdCapacity;
    private readonly ConcurrentDictionary<ulong, RamEntry> _ramBodies = new();
    private readonly ConcurrentDictionary<ulong, OpenObject> _open = new();
    /// <summary>SSD writes under way, so a key is written once and others can wait for it.</summary>
    private readonly ConcurrentDictionary<ulong, Task> _pendingSsdWrites = new();
    private readonly List<ulong> _evicted = [];
    private readonly List<ulong> _promoted = [];
    private readonly SsdStore _store;
    private readonly ParentFetcher _fetcher;
    private readonly ApplianceMetrics _metrics;
    private readonly ILogger<SegmentCache> _logger;
    private readonly CacheInventory _inventory;
    private readonly Action<InflightObject> _onFetched;
    private long _hits;
    private long _requests;
    private long _hitBytes;
    private long _requestBytes;

    public SegmentCache(IOptions<ApplianceOptions> options, SsdStore store, ParentFetcher fetcher, ApplianceMetrics metrics, ILogger<SegmentCache> logger, CacheInventory inventory)
    {
        _inventory = inventory;
        var cache = options.Value.Cache;
        _ram = PolicyFactory.Create(cache.Policy, cache.RamBytes);
        // The SSD policy's probation (small) queue holds objects that are not on SSD yet, so their
        // bodies exist only in RAM: keep it within half the RAM tier so a promoted object's body is
        // usually still in memory when it is written.
        var small = Math.Clamp(cache.RamBytes * 0.5 / cache.SsdBytes, 0.001, 0.10);
        _ssd = PolicyFactory.Create(cache.Policy, cache.SsdBytes, new S3FifoOptions { SmallFraction = small });
        _ssdCapacity = cache.SsdBytes;
        _pins = new PinSet(Path.Combine(cache.Directory, "fill", "pins.bin"));
        _store = store;
        _fetcher = fetcher;
        _metrics = metrics;
        _logger = logger;
        _onFetched = OnFetched;
        SeedFromStore();
    }

    /// <summary>SSD object files kept open between requests; beyond this a hit opens its file per request.</summary>
    public const int MaxOpenObjects = 8192;

    public SsdStore Store => _store;

    /// <summary>
    /// Finds the bytes for <paramref name="path"/>: a RAM hit, an SSD hit (an open file), or a miss
    /// joined to the single upstream fetch for that object.
    /// </summary>
    public async ValueTask<CacheLookup> LookupAsync(ulong key, string path, CancellationToken cancellationToken)
    {
        if (_ramBodies.TryGetValue(key, out var ram) && ram.Info.Path == path && ram.Memory.TryAcquire())
        {
            lock (_policyLock)
            {
                _ram.Access(key);
                _ssd.Access(key);
            }

            return CacheLookup.RamHit(ram);
        }

        if (_open.TryGetValue(key, out var open) && open.Info.Path == path && open.TryAcquire())
        {
            TouchSsd(key, open);
            return CacheLookup.SsdHit(open);
        }

        StoredObject? stored = null;
        if (_store.IsHealthy || _store.Count > 0)
        {
            try
            {
                stored = await _store.OpenAsync(key, path, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _metrics.CacheErrors.WithLabels("ssd-read").Inc();
                CacheLog.SsdReadFailed(_logger, path, ex);
            }
        }

        if (stored is not null)
        {
            // The handle now belongs to the open-object cache (or to this response alone when the
            // cache is full); the StoredObject wrapper is not disposed.
            var info = new ObjectInfo(stored.Path, stored.BodyLength, stored.ETag, stored.LastModified, stored.ContentType, ContentTypes.CacheControlFor(stored.Path));
            var opened = new OpenObject(info, stored.Handle, stored.BodyOffset);
            opened.TryAcquire();
            if (_open.Count < MaxOpenObjects && _open.TryAdd(key, opened))
            {
                // Evicted while it was being opened: do not keep it.
                if (!_store.Contains(key) && _open.TryRemove(new KeyValuePair<ulong, OpenObject>(key, opened)))
                {
                    opened.Close();
                }
            }
            else
            {
                opened.Close();
            }

            TouchSsd(key, opened);
            return CacheLookup.SsdHit(opened);
        }

        return CacheLookup.Miss(_fetcher.GetOrStart(key, path, _onFetched));
    }

    /// <summary>Records an SSD hit with both policies and offers the object to the RAM tier.</summary>
    private void TouchSsd(ulong key, OpenObject open)
    {
        bool promote;
        lock (_policyLock)
        {
            _ssd.Access(key);
            promote = !_ram.Access(key) && _ram.Admit(key, Math.Max(1, open.Info.Length), _evicted);
            DropRamEvictions();
        }

        if (promote && open.TryAcquire())
        {
            _ = PromoteToRamAsync(key, open);
        }
    }

    /// <summary>Counts a served content request for the hit-ratio gauges.</summary>
    public void Record(CacheTier tier, long bytes)
    {
        var requests = Interlocked.Increment(ref _requests);
        var requestBytes = Interlocked.Add(ref _requestBytes, bytes);
        var hits = tier == CacheTier.Miss ? Interlocked.Read(ref _hits) : Interlocked.Increment(ref _hits);
        var hitBytes = tier == CacheTier.Miss ? Interlocked.Read(ref _hitBytes) : Interlocked.Add(ref _hitBytes, bytes);
        _metrics.HitRatio.WithLabels("objects").Set((double)hits / requests);
        _metrics.HitRatio.WithLabels("bytes").Set(requestBytes == 0 ? 0 : (double)hitBytes / requestBytes);
    }

    private void OnFetched(InflightObject fetch)
    {
        var head = fetch.Head!;
        var info = new ObjectInfo(fetch.Path, head.Length, head.ETag, head.LastModified, head.ContentType, ContentTypes.CacheControlFor(fetch.Path));
        var key = fetch.Key;
        var size = Math.Max(1, head.Length);
        bool inRam;
        var writeSsd = false;
        lock (_policyLock)
        {
            inRam = _ram.Admit(key, size, _evicted);
            if (inRam)
            {
                if (RamEntry.TryCreate(info, fetch.Body) is { } entry)
                {
                    PutRam(key, entry);
                }
                else
                {
                    _ram.Remove(key);
                    inRam = false;
                    _metrics.CacheErrors.WithLabels("ram-alloc").Inc();
                }
            }

            DropRamEvictions();
            _promoted.Clear();

            // A player's miss that began before a fill stored and pinned the same object ends here with a
            // pinned key: the pinned file is outside the SSD policy, which must not count or write it again.
            if (!_pins.Contains(key))
            {
                if (_ssd is S3FifoPolicy s3)
                {
                    s3.Admit(key, size, _evicted, _promoted);
                    writeSsd = s3.IsInMain(key);
                }
                else
                {
                    writeSsd = _ssd.Admit(key, size, _evicted);
                }

                DropSsdEvictions();
            }
        }

        if (inRam)
        {
            _metrics.Admissions.WithLabels("ram").Inc();
        }

        if (writeSsd)
        {
            _ = WriteToSsdAsync(key, info, fetch.Body, fetch.VerifiedSha256);
        }

        WritePromoted(except: key);
        UpdateGauges();
    }

    private void WritePromoted(ulong except)
    {
        ulong[] promoted;
        lock (_policyLock)
        {
            if (_promoted.Count == 0)
            {
                return;
            }

            promoted = [.. _promoted];
            _promoted.Clear();
        }

        foreach (var key in promoted)
        {
            // A promoted object whose body already left RAM is written at its next miss instead.
            if (key != except && _ramBodies.TryGetValue(key, out var entry) && entry.ReadBody() is { } body)
            {
                _ = WriteToSsdAsync(key, entry.Info, body, bodySha256: null);
            }
        }
    }

    /// <summary>
    /// Writes the body to SSD, or joins the write of the same key already under way (a player's miss or a
    /// fill). <paramref name="bodySha256"/>: the hash the integrity check computed, if any.
    /// </summary>
    private Task WriteToSsdAsync(ulong key, ObjectInfo info, byte[] body, byte[]? bodySha256)
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
            // A fill may have stored and pinned the object since this write was decided: it is on SSD already.
            if (!IsPinned(key) && await WriteObjectAsync(key, info, body, bodySha256, CancellationToken.None).ConfigureAwait(false))
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
    private bool TryClaimWrite(ulong key, out TaskCompletionSource mine, out Task underWay)
    {
        mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        underWay = _pendingSsdWrites.GetOrAdd(key, mine.Task);
        return underWay == mine.Task;
    }

    private void ReleaseWrite(ulong key, TaskCompletionSource mine)
    {
        _pendingSsdWrites.TryRemove(new KeyValuePair<ulong, Task>(key, mine.Task));
        mine.TrySetResult();
    }

    /// <summary>
    /// Writes one object to the SSD tier; the caller holds the key's write claim. <paramref name="bodySha256"/>
    /// is the body's SHA-256 when the caller already checked it (fill, or a pull checked against the
    /// integrity manifest), so the body is not hashed again.
    /// Storage trouble, and strings the object header cannot hold (a source's over-long ETag), are counted,
    /// logged and returned as false rather than thrown.
    /// </summary>
    private async Task<bool> WriteObjectAsync(ulong key, ObjectInfo info, byte[] body, byte[]? bodySha256, CancellationToken cancellationToken)
    {
        try
        {
            await using var writer = _store.BeginWrite(key, info.Path, body.LongLength, info.ContentType, info.ETag, info.LastModified, bodySha256);
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

    private async Task PromoteToRamAsync(ulong key, OpenObject open)
    {
        try
        {
            var info = open.Info;
            var body = GC.AllocateUninitializedArray<byte>(checked((int)info.Length), pinned: true);
            var read = 0;
            while (read < body.Length)
            {
                var n = await RandomAccess.ReadAsync(open.Handle, body.AsMemory(read), open.BodyOffset + read).ConfigureAwait(false);
                if (n == 0)
                {
                    return;
                }

                read += n;
            }

            var entry = RamEntry.TryCreate(info, body);
            lock (_policyLock)
            {
                if (entry is not null && _ram.Contains(key))
                {
                    PutRam(key, entry);
                    entry = null;
                }
            }

            entry?.Memory.Close();

            _metrics.Admissions.WithLabels("ram").Inc();
            UpdateGauges();
        }
        catch (IOException)
        {
            lock (_policyLock)
            {
                _ram.Remove(key);
            }
        }
        finally
        {
            open.Release();
        }
    }

    /// <summary>Installs a RAM body, closing any entry it replaces (under the policy lock).</summary>
    private void PutRam(ulong key, RamEntry entry)
    {
        if (_ramBodies.TryGetValue(key, out var previous))
        {
            previous.Memory.Close();
        }

        _ramBodies[key] = entry;
        _inventory.Held(key, entry.Info.Path, InventoryTier.Ram);
    }

    private void DropRamEvictions()
    {
        foreach (var key in _evicted)
        {
            if (_ramBodies.TryRemove(key, out var gone))
            {
                gone.Memory.Close();
                _inventory.Dropped(key, InventoryTier.Ram);
            }

            _metrics.Evictions.WithLabels("ram").Inc();
        }

        _evicted.Clear();
    }

    private void DropSsdEvictions()
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

            if (_store.Remove(key))
            {
                _inventory.Dropped(key, InventoryTier.Ssd);
                _metrics.Evictions.WithLabels("ssd").Inc();
            }
        }

        _evicted.Clear();
    }

    /// <summary>
    /// After a restart the SSD policy learns what the store holds, as main-resident objects, except
    /// the pinned ones: those stay outside the policy, whose capacity shrinks by their bytes.
    /// </summary>
    private void SeedFromStore()
    {
        lock (_policyLock)
        {
            foreach (var key in _pins.Keys.Where(k => !_store.Contains(k)).ToList())
            {
                _pins.Remove(key, out _);
            }

            ResizeSsdPolicy();
            foreach (var (key, length) in _store.Entries)
            {
                if (_pins.Contains(key))
                {
                    continue;
                }

                ReturnToSsdPolicy(key, length);
                DropSsdEvictions();
            }
        }

        UpdateGauges();
    }

    /// <summary>
    /// Puts an object the SSD tier holds back under the SSD policy as a main-resident entry (after a
    /// restart, an unpin, or a fill of an object already held); the caller holds the policy lock.
    /// </summary>
    private void ReturnToSsdPolicy(ulong key, long length)
    {
        if (_ssd is S3FifoPolicy s3)
        {
            s3.Restore(key, Math.Max(1, length), _evicted);
        }
        else if (!_ssd.Access(key))
        {
            _ssd.Admit(key, Math.Max(1, length), _evicted);
        }
    }

    private void UpdateGauges()
    {
        _metrics.TierBytes.WithLabels("ram").Set(_ram.UsedBytes);
        _metrics.TierObjects.WithLabels("ram").Set(_ramBodies.Count);
        _metrics.TierBytes.WithLabels("ssd").Set(_store.UsedBytes);
        _metrics.TierObjects.WithLabels("ssd").Set(_store.Count);
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_pendingSsdWrites.Values).ConfigureAwait(false);

        foreach (var open in _open.Values)
        {
            open.Close();
        }

        _open.Clear();
        foreach (var entry in _ramBodies.Values)
        {
            entry.Memory.Close();
        }

        _ramBodies.Clear();
    }
}
