using System.Collections.Concurrent;
using OpenConnect.Appliance.Caching.Policy;

namespace OpenConnect.Appliance.Caching;

/// <summary>
/// The RAM tier: the hottest bodies held in memfds (<see cref="RamEntry"/>) under their own
/// byte-bounded policy, bounded by <c>Appliance:Cache:RamBytes</c>. Every fetched body and every SSD
/// hit is offered to it (promotion); a body evicted from RAM stays on SSD if the SSD tier holds it
/// (demotion is a drop, not a write). Lookups are lock-free; methods named <c>…Locked</c> change the
/// policy and run under the cache's policy lock, which <see cref="SegmentCache"/> owns and passes in.
/// </summary>
internal sealed class RamTier : IDisposable
{
    private readonly Lock _policyLock;
    private readonly IEvictionPolicy _policy;
    private readonly ConcurrentDictionary<ulong, RamEntry> _bodies = new();
    private readonly List<ulong> _evicted = [];
    private readonly ApplianceMetrics _metrics;
    private readonly CacheInventory _inventory;

    public RamTier(Lock policyLock, IEvictionPolicy policy, ApplianceMetrics metrics, CacheInventory inventory)
    {
        _policyLock = policyLock;
        _policy = policy;
        _metrics = metrics;
        _inventory = inventory;
    }

    /// <summary>Leases the body of <paramref name="key"/> when RAM holds it for this path (not a colliding key's).</summary>
    public bool TryLease(ulong key, string path, out RamEntry entry) =>
        _bodies.TryGetValue(key, out entry!) && entry.Info.Path == path && entry.Memory.TryAcquire();

    /// <summary>The body of <paramref name="key"/> if RAM still holds it (not leased).</summary>
    public bool TryGet(ulong key, out RamEntry entry) => _bodies.TryGetValue(key, out entry!);

    /// <summary>Records a request; true when the policy holds the key.</summary>
    public bool AccessLocked(ulong key) => _policy.Access(key);

    public bool ContainsLocked(ulong key) => _policy.Contains(key);

    /// <summary>Offers an object to the policy; evicted bodies are closed (once no response leases them).</summary>
    public bool AdmitLocked(ulong key, long size)
    {
        var admitted = _policy.Admit(key, size, _evicted);
        DropEvictionsLocked();
        return admitted;
    }

    /// <summary>Admits a fetched body: policy first, then a memfd with the bytes. False when either refuses.</summary>
    public bool AdmitBodyLocked(ulong key, ObjectInfo info, ReadOnlySpan<byte> body)
    {
        if (!AdmitLocked(key, Math.Max(1, info.Length)))
        {
            return false;
        }

        if (RamEntry.TryCreate(info, body) is not { } entry)
        {
            _policy.Remove(key);
            _metrics.CacheErrors.WithLabels("ram-alloc").Inc();
            return false;
        }

        PutLocked(key, entry);
        return true;
    }

    /// <summary>
    /// Copies an SSD hit's body into RAM (promotion, after <see cref="AdmitLocked"/> accepted it). Runs off
    /// the request path; releases the caller's lease on <paramref name="open"/>.
    /// </summary>
    public async Task PromoteAsync(ulong key, OpenObject open)
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
                if (entry is not null && _policy.Contains(key))
                {
                    PutLocked(key, entry);
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
                _policy.Remove(key);
            }
        }
        finally
        {
            open.Release();
        }
    }

    /// <summary>The keys and paths of the bodies held now (a snapshot).</summary>
    public IReadOnlyList<(ulong Key, string Path)> Held() => [.. _bodies.Select(b => (b.Key, b.Value.Info.Path))];

    /// <summary>Drops <paramref name="key"/> from the policy and closes its body (once no response leases it); false when RAM did not hold it.</summary>
    public bool RemoveLocked(ulong key)
    {
        var inPolicy = _policy.Remove(key);
        if (_bodies.TryRemove(key, out var gone))
        {
            gone.Memory.Close();
            _inventory.Dropped(key, InventoryTier.Ram);
            return true;
        }

        return inPolicy;
    }

    public void UpdateGauges()
    {
        _metrics.TierBytes.WithLabels("ram").Set(_policy.UsedBytes);
        _metrics.TierObjects.WithLabels("ram").Set(_bodies.Count);
    }

    /// <summary>Installs a RAM body, closing any entry it replaces.</summary>
    private void PutLocked(ulong key, RamEntry entry)
    {
        if (_bodies.TryGetValue(key, out var previous))
        {
            previous.Memory.Close();
        }

        _bodies[key] = entry;
        _inventory.Held(key, entry.Info.Path, InventoryTier.Ram);
    }

    private void DropEvictionsLocked()
    {
        foreach (var key in _evicted)
        {
            if (_bodies.TryRemove(key, out var gone))
            {
                gone.Memory.Close();
                _inventory.Dropped(key, InventoryTier.Ram);
            }

            _metrics.Evictions.WithLabels("ram").Inc();
        }

        _evicted.Clear();
    }

    public void Dispose()
    {
        foreach (var entry in _bodies.Values)
        {
            entry.Memory.Close();
        }

        _bodies.Clear();
    }
}
