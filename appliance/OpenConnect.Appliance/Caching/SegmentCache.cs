using Microsoft.Extensions.Options;
using OpenConnect.Appliance.Caching.Policy;
using OpenConnect.Appliance.Storage;
using OpenConnect.Appliance.Upstream;

namespace OpenConnect.Appliance.Caching;

/// <summary>
/// The two-tier cache, as a small coordinator over parts with one job each:
/// <list type="bullet">
/// <item><see cref="RamTier"/>: the hottest bodies in memfds under their own policy; every fetched body
/// and every SSD hit is offered to it (promotion).</item>
/// <item><see cref="SsdTier"/>: the store's files under an admission and eviction policy (S3-FIFO by
/// default; a new object is written when it proves reuse), open files, one writer per key.</item>
/// <item><see cref="PinnedObjects"/>: what fill pinned, outside the SSD policy.</item>
/// </list>
/// Policies are not thread-safe and are O(1), so one lock (owned here, passed to the parts) serialises
/// them; bodies are never copied under it. The SSD tier is opened by <see cref="StartAsync"/>, the
/// host's start step (recovery can take seconds), not in the constructor.
/// </summary>
public sealed partial class SegmentCache : IAsyncDisposable
{
    private readonly Lock _policyLock = new();
    private readonly RamTier _ram;
    private readonly SsdTier _ssd;
    private readonly PinSet _pinSet;
    private readonly PinnedObjects _pins;
    private readonly SsdStoreOptions _storeOptions;
    private readonly ParentFetcher _fetcher;
    private readonly ApplianceMetrics _metrics;
    private readonly ILoggerFactory _loggers;
    private readonly TimeProvider _time;
    private readonly Action<InflightObject> _onFetched;
    private readonly CacheInventory _inventory;
    private readonly TimeSpan _staleIfError;

    public SegmentCache(IOptions<ApplianceOptions> options, ParentFetcher fetcher, ApplianceMetrics metrics, ILoggerFactory loggers, TimeProvider time, CacheInventory inventory)
    {
        var cache = options.Value.Cache;
        _storeOptions = new SsdStoreOptions(Path.Combine(cache.Directory, "ssd"), cache.SsdBytes, cache.CheckpointInterval);
        _fetcher = fetcher;
        _metrics = metrics;
        metrics.TierCapacity.WithLabels("ram").Set(cache.RamBytes);
        metrics.TierCapacity.WithLabels("ssd").Set(cache.SsdBytes);
        _loggers = loggers;
        _time = time;
        _inventory = inventory;
        _staleIfError = cache.StaleIfError;
        // The video policy values objects by what the path says; it governs the SSD tier (the writes and the
        // bulk of the bytes). The small RAM tier keeps S3-FIFO, whose recency suits its short horizon.
        var ramPolicy = cache.Policy == PolicyFactory.Video ? PolicyFactory.S3Fifo : cache.Policy;
        _ram = new RamTier(_policyLock, PolicyFactory.Create(ramPolicy, cache.RamBytes), metrics, inventory);

        // The SSD policy's probation (small) queue holds objects that are not on SSD yet, so their
        // bodies exist only in RAM: keep it within half the RAM tier so a promoted object's body is
        // usually still in memory when it is written.
        var small = Math.Clamp(cache.RamBytes * 0.5 / cache.SsdBytes, 0.001, 0.10);
        var ssdPolicy = PolicyFactory.Create(cache.Policy, cache.SsdBytes, new S3FifoOptions { SmallFraction = small }, video: new VideoPolicyOptions { SmallFraction = small, PriorWeight = cache.VideoPriorWeight });
        _pinSet = new PinSet(Path.Combine(cache.Directory, "fill", "pins.bin"));
        _ssd = new SsdTier(_policyLock, ssdPolicy, cache.SsdBytes, _pinSet, metrics, inventory, loggers.CreateLogger<SegmentCache>(), cache.PlaylistTtl, time);
        _pins = new PinnedObjects(_policyLock, _pinSet, _ssd);
        _onFetched = OnFetched;
    }

    /// <summary>SSD object files kept open between requests; beyond this a hit opens its file per request.</summary>
    public const int MaxOpenObjects = SsdTier.MaxOpenObjects;

    /// <summary>The SSD tier's store; available once the host started (<see cref="StartAsync"/>).</summary>
    public SsdStore Store => _ssd.Store;

    /// <summary>Whether <see cref="StartAsync"/> opened the SSD tier.</summary>
    public bool IsStarted => _ssd.IsOpen;

    /// <summary>
    /// Opens the SSD tier (recovering its index and reconciling it with the files), reloads the pins and
    /// seeds the SSD policy with what the store holds. The host runs it before accepting connections.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var store = await SsdStore.OpenAsync(_storeOptions, _loggers.CreateLogger<SsdStore>(), _time, cancellationToken).ConfigureAwait(false);
        await Task.Run(_pinSet.Load, cancellationToken).ConfigureAwait(false);
        _ssd.Open(store);
        _ram.UpdateGauges();
        await PurgeTakenDownAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Finds the bytes for <paramref name="path"/>: a RAM hit, an SSD hit (an open file), or a miss
    /// joined to the single upstream fetch for that object. A title on the takedown list is a miss that
    /// answers 410 at once, whatever the tiers still hold while its purge runs. A hit on a changeable
    /// object (a playlist) whose freshness ran out is revalidated first (<see cref="RevalidateAsync"/>).
    /// </summary>
    public async ValueTask<CacheLookup> LookupAsync(ulong key, string path, CancellationToken cancellationToken)
    {
        if (_fetcher.Takedowns.Holds(path))
        {
            return CacheLookup.Miss(ParentFetcher.Gone(key, path), FetchJoin.TakenDown);
        }

        if (_ram.TryLease(key, path, out var ram))
        {
            lock (_policyLock)
            {
                _ram.AccessLocked(key);
                _ssd.AccessLocked(key);
            }

            return await FreshOrRevalidatedAsync(key, path, CacheLookup.RamHit(ram), cancellationToken).ConfigureAwait(false);
        }

        if (_ssd.TryLeaseOpen(key, path, out var open))
        {
            TouchSsd(key, open);
            return await FreshOrRevalidatedAsync(key, path, CacheLookup.SsdHit(open), cancellationToken).ConfigureAwait(false);
        }

        if (await _ssd.OpenAsync(key, path, cancellationToken).ConfigureAwait(false) is { } opened)
        {
            TouchSsd(key, opened);
            return await FreshOrRevalidatedAsync(key, path, CacheLookup.SsdHit(opened), cancellationToken).ConfigureAwait(false);
        }

        var fetch = _fetcher.GetOrStart(key, path, _onFetched, out var join);
        if (fetch.Revalidating is not null && (await fetch.HeadTask.WaitAsync(cancellationToken).ConfigureAwait(false)).Outcome == FetchOutcome.NotModified)
        {
            // The copy that fetch revalidates left the cache meanwhile, so its 304 has no body for this
            // request: fetch the object afresh (the finished revalidation no longer collapses requests).
            fetch = _fetcher.GetOrStart(key, path, _onFetched, out join);
        }

        return CacheLookup.Miss(fetch, join);
    }

    /// <summary>Records an SSD hit with both policies and offers the object to the RAM tier.</summary>
    private void TouchSsd(ulong key, OpenObject open)
    {
        bool promote;
        lock (_policyLock)
        {
            _ssd.AccessLocked(key);
            promote = !_ram.AccessLocked(key) && _ram.AdmitLocked(key, Math.Max(1, open.Info.Length));
        }

        if (promote && open.TryAcquire())
        {
            _ = _ram.PromoteAsync(key, open);
        }
    }

    /// <summary>A fetch completed intact: offer the body to RAM, and to the SSD policy unless fill pinned the key.</summary>
    private void OnFetched(InflightObject fetch)
    {
        var head = fetch.Head!;
        if (_fetcher.Takedowns.Holds(fetch.Path))
        {
            // Taken down while it was being fetched: its readers got their bytes, the cache keeps none.
            return;
        }

        var info = ObjectInfo.FromHead(fetch.Path, head, _time.GetUtcNow());
        var key = fetch.Key;
        bool inRam;
        var writeSsd = false;
        lock (_policyLock)
        {
            if (fetch.Revalidating is not null)
            {
                DropReplacedLocked(key);
            }

            inRam = _ram.AdmitBodyLocked(key, info, fetch.Body);

            // A player's miss that began before a fill stored and pinned the same object ends here with a
            // pinned key: the pinned file is outside the SSD policy, which must not count or write it again.
            if (!_pins.ContainsLocked(key))
            {
                writeSsd = _ssd.AdmitFetchedLocked(key, Math.Max(1, head.Length), fetch.Path);
            }
        }

        if (inRam)
        {
            _metrics.Admissions.WithLabels("ram").Inc();
        }

        if (writeSsd)
        {
            _ = _ssd.WritePulledAsync(key, info, fetch.Body, fetch.VerifiedSha256);
        }

        WritePromoted(except: key);
        UpdateGauges();
    }

    /// <summary>Writes the objects the SSD policy promoted from probation, from their RAM bodies.</summary>
    private void WritePromoted(ulong except)
    {
        foreach (var key in _ssd.TakePromoted())
        {
            // A promoted object whose body already left RAM is written at its next miss instead.
            if (key != except && _ram.TryGet(key, out var entry) && entry.ReadBody() is { } body)
            {
                _ = _ssd.WritePulledAsync(key, entry.Info, body, bodySha256: null);
            }
        }
    }

    private void UpdateGauges()
    {
        _ram.UpdateGauges();
        _ssd.UpdateGauges();
    }

    /// <summary>Bytes of pinned objects (outside the SSD policy, whose capacity is the SSD tier minus these).</summary>
    public long PinnedBytes => _pins.Bytes;

    public int PinnedCount => _pins.Count;

    /// <summary>The SSD policy's capacity now: the SSD tier minus the pinned bytes.</summary>
    public long SsdPolicyCapacityBytes
    {
        get
        {
            lock (_policyLock)
            {
                return _ssd.PolicyCapacityLocked;
            }
        }
    }

    /// <summary>A snapshot of the pinned keys.</summary>
    public IReadOnlyList<ulong> PinnedKeys() => _pins.Keys();

    /// <summary>Whether the SSD policy tracks <paramref name="key"/> (pinned objects are not tracked).</summary>
    public bool InSsdPolicy(ulong key)
    {
        lock (_policyLock)
        {
            return _ssd.InPolicyLocked(key);
        }
    }

    public bool IsPinned(ulong key) => _pins.Contains(key);

    /// <summary>Whether the SSD tier holds <paramref name="key"/> (index only; no file access).</summary>
    public bool HeldOnSsd(ulong key) => Store.Contains(key);

    /// <summary>Titles (or hint-less objects) the SSD policy keeps counters for when it is <c>video</c>; null for the other policies.</summary>
    public int? SsdPolicyGroups
    {
        get
        {
            lock (_policyLock)
            {
                return _ssd.PolicyLocked is VideoAwarePolicy video ? video.GroupCount : null;
            }
        }
    }

    /// <summary>The forecast prior the SSD policy holds when it is <c>video</c> (<see cref="SetSsdPrior"/>); null otherwise.</summary>
    public TitlePrior? SsdPolicyPrior
    {
        get
        {
            lock (_policyLock)
            {
                return _ssd.PolicyLocked is VideoAwarePolicy video ? video.Prior : null;
            }
        }
    }

    /// <summary>
    /// Hands the fill controller's per-title forecast (from the night manifest) to the SSD policy when it is
    /// <c>video</c>, replacing the previous one (null removes it); it counts by <c>Cache:VideoPriorWeight</c>.
    /// Other policies ignore it. False when the policy took no prior.
    /// </summary>
    public bool SetSsdPrior(TitlePrior? prior)
    {
        lock (_policyLock)
        {
            if (_ssd.PolicyLocked is not VideoAwarePolicy video)
            {
                return false;
            }

            video.SetPrior(prior);
            return true;
        }
    }

    /// <summary>
    /// Pins an object the SSD tier holds with this body (length and SHA-256, as the integrity manifest names
    /// it): it leaves the eviction policy and the policy's capacity shrinks by its length. One decision under
    /// the policy lock, so a player's miss cannot evict the object between the look and the pin (evictions
    /// delete under the same lock). A held object with another body (an older version) is not pinned: the
    /// caller fetches the named one. Refused when the pinned bytes would exceed the SSD tier. Call
    /// <see cref="SavePinsAsync"/> to make pins durable.
    /// </summary>
    public PinOutcome PinHeld(ulong key, long bodyLength, byte[] sha256) => _pins.PinHeld(key, bodyLength, sha256);

    /// <summary>The error a fill reports for an object it may not pin.</summary>
    public string PinCapacityError(string path) => _pins.CapacityError(path);

    /// <summary>Hands a pinned object back to the eviction policy as an ordinary (main-resident) entry.</summary>
    public void Unpin(ulong key, string? path = null)
    {
        _pins.Unpin(key, path);
        UpdateGauges();
    }

    /// <summary>Writes the pin set durably (fill calls it after each file and after unpinning).</summary>
    public Task SavePinsAsync(CancellationToken cancellationToken) => _pins.SaveAsync(cancellationToken);

    /// <summary>
    /// Stores a filled object whose body the caller fetched and checked against <paramref name="sha256"/>, and
    /// pins it. The SSD tier may already hold this body (a player's miss wrote it): it is only pinned. A write
    /// of the same key under way is waited for rather than doubled. The body is not hashed again: the header
    /// carries <paramref name="sha256"/>. Refused when the pinned bytes would exceed the SSD tier, checked again
    /// when pinning (an object written but refused then stays on SSD under the policy). Storage failures are a
    /// failed result, never an exception.
    /// </summary>
    public async Task<FillWriteResult> StoreFilledAsync(ulong key, string path, byte[] body, byte[] sha256, string contentType, string etag, DateTimeOffset lastModified, CancellationToken cancellationToken)
    {
        if (_fetcher.Takedowns.Holds(path))
        {
            return new FillWriteResult(false, $"{path}: the title was taken down at the origin");
        }

        try
        {
            return await _pins.StoreFilledAsync(key, path, body, sha256, contentType, etag, lastModified, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            UpdateGauges();
        }
    }

    /// <summary>
    /// Brings <paramref name="path"/> onto the SSD tier (fill): an object already there is kept and
    /// counted as held; otherwise it is pulled through the parents (joining any fetch under way,
    /// verified against the integrity manifest) and written to SSD directly, skipping probation:
    /// the fill controller already decided it is wanted.
    /// </summary>
    public async Task<PrefetchResult> PrefetchAsync(ulong key, string path, CancellationToken cancellationToken)
    {
        if (_fetcher.Takedowns.Holds(path))
        {
            return new PrefetchResult(false, false, 0, "the title was taken down at the origin");
        }

        if (Store.TryOpen(key, path, out var existing))
        {
            var length = existing.BodyLength;
            existing.Dispose();
            RestoreInSsdPolicy(key, length, path);
            return new PrefetchResult(true, true, 0, null);
        }

        var fetch = _fetcher.GetOrStart(key, path, _onFetched);
        var (outcome, head) = await fetch.HeadTask.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (outcome != FetchOutcome.Ok)
        {
            return new PrefetchResult(false, false, 0, outcome switch
            {
                FetchOutcome.NotFound => "not found at any parent",
                FetchOutcome.Gone => "the title was taken down at the origin",
                FetchOutcome.GatewayTimeout => "parents timed out",
                FetchOutcome.TooLarge => "larger than Appliance:Upstream:MaxObjectBytes",
                FetchOutcome.Overloaded => "too many fetches under way (Appliance:Upstream:MaxConcurrentFetches)",
                _ => "no parent could provide it",
            });
        }

        if (!await fetch.Completed.WaitAsync(cancellationToken).ConfigureAwait(false))
        {
            return new PrefetchResult(false, false, fetch.Filled, "transfer failed or did not match the integrity manifest");
        }

        var info = ObjectInfo.FromHead(path, head!, _time.GetUtcNow());
        RestoreInSsdPolicy(key, head!.Length, path);
        if (_ssd.TryGetPendingWrite(key, out var underWay))
        {
            // A client's miss is writing the same object; wait for it rather than write twice.
            await underWay.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        if (!Store.TryOpen(key, path, out var written))
        {
            await _ssd.WritePulledAsync(key, info, fetch.Body, fetch.VerifiedSha256).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (!Store.TryOpen(key, path, out written))
            {
                return new PrefetchResult(false, false, head.Length, "the SSD tier could not store it (see cache errors)");
            }
        }

        written.Dispose();
        return new PrefetchResult(true, false, head.Length, null);
    }

    private void RestoreInSsdPolicy(ulong key, long length, string path)
    {
        lock (_policyLock)
        {
            if (!_pins.ContainsLocked(key))
            {
                _ssd.ReturnToPolicyLocked(key, length, path);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _ssd.DisposeAsync().ConfigureAwait(false);
        _ram.Dispose();
    }
}

/// <summary>The outcome of bringing one object into the SSD tier for a fill.</summary>
public readonly record struct PrefetchResult(bool Ok, bool AlreadyHeld, long BytesFetched, string? Error);
