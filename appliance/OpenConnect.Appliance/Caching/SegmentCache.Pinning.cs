using OpenConnect.Appliance.Control;

namespace OpenConnect.Appliance.Caching;

/// <summary>The outcome of storing one filled object.</summary>
public readonly record struct FillWriteResult(bool Ok, string? Error);

public sealed partial class SegmentCache
{
    private readonly SemaphoreSlim _pinFileGate = new(1, 1);

    /// <summary>Bytes of pinned objects (outside the SSD policy, whose capacity is the SSD tier minus these).</summary>
    public long PinnedBytes
    {
        get
        {
            lock (_policyLock)
            {
                return _pins.Bytes;
            }
        }
    }

    public int PinnedCount
    {
        get
        {
            lock (_policyLock)
            {
                return _pins.Count;
            }
        }
    }

    /// <summary>The SSD policy's capacity now: the SSD tier minus the pinned bytes.</summary>
    public long SsdPolicyCapacityBytes
    {
        get
        {
            lock (_policyLock)
            {
                return _ssd.CapacityBytes;
            }
        }
    }

    /// <summary>A snapshot of the pinned keys.</summary>
    public IReadOnlyList<ulong> PinnedKeys()
    {
        lock (_policyLock)
        {
            return [.. _pins.Keys];
        }
    }

    /// <summary>Whether the SSD policy tracks <paramref name="key"/> (pinned objects are not tracked).</summary>
    public bool InSsdPolicy(ulong key)
    {
        lock (_policyLock)
        {
            return _ssd.Contains(key);
        }
    }

    public bool IsPinned(ulong key)
    {
        lock (_policyLock)
        {
            return _pins.Contains(key);
        }
    }

    /// <summary>Whether the SSD tier holds <paramref name="key"/> (index only; no file access).</summary>
    public bool HeldOnSsd(ulong key) => _store.Contains(key);

    /// <summary>
    /// Pins an object the SSD tier holds: it leaves the eviction policy and the policy's capacity
    /// shrinks by its bytes. Call <see cref="SavePinsAsync"/> to make pins durable.
    /// </summary>
    public void Pin(ulong key, long length)
    {
        lock (_policyLock)
        {
            if (!_pins.Add(key, Math.Max(1, length)))
            {
                return;
            }

            _ssd.Remove(key);
            ResizeSsdPolicy();
        }
    }

    /// <summary>Hands a pinned object back to the eviction policy as an ordinary (main-resident) entry.</summary>
    public void Unpin(ulong key)
    {
        lock (_policyLock)
        {
            if (!_pins.Remove(key, out var length))
            {
                return;
            }

            ResizeSsdPolicy();
            if (_store.Contains(key))
            {
                ReturnToSsdPolicy(key, length);
                DropSsdEvictions();
            }
        }

        UpdateGauges();
    }

    /// <summary>Writes the pin set durably (fill calls it after each file and after unpinning).</summary>
    public async Task SavePinsAsync(CancellationToken cancellationToken)
    {
        await _pinFileGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            byte[] snapshot;
            lock (_policyLock)
            {
                snapshot = _pins.Snapshot();
            }

            await Task.Run(() => _pins.Write(snapshot), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _pinFileGate.Release();
        }
    }

    /// <summary>
    /// Stores a filled object whose body the caller fetched and verified, and pins it. The store
    /// checks the body against <paramref name="sha256"/> once more at commit. Refused when the pinned
    /// bytes would exceed the SSD tier.
    /// </summary>
    public async Task<FillWriteResult> StoreFilledAsync(ulong key, string path, byte[] body, byte[] sha256, string contentType, string etag, DateTimeOffset lastModified, CancellationToken cancellationToken)
    {
        lock (_policyLock)
        {
            if (_pins.Bytes + body.LongLength > _ssdCapacity)
            {
                return new FillWriteResult(false, "pinned content would exceed Appliance:Cache:SsdBytes");
            }
        }

        await using (var writer = _store.BeginWrite(key, path, body.LongLength, contentType, etag, lastModified))
        {
            await writer.AppendAsync(body, cancellationToken).ConfigureAwait(false);
            if (!await writer.CommitAsync(sha256, cancellationToken).ConfigureAwait(false))
            {
                _metrics.CacheErrors.WithLabels("ssd-write").Inc();
                return new FillWriteResult(false, "the SSD tier could not store it (see cache errors)");
            }
        }

        _inventory.Held(key, path, InventoryTier.Ssd);
        _metrics.SsdBytesWritten.Inc(body.LongLength);
        Pin(key, body.LongLength);
        UpdateGauges();
        return new FillWriteResult(true, null);
    }

    /// <summary>Sets the SSD policy's capacity to the tier minus the pinned bytes (under the policy lock).</summary>
    private void ResizeSsdPolicy()
    {
        _ssd.Resize(Math.Max(1, _ssdCapacity - _pins.Bytes), _evicted);
        DropSsdEvictions();
    }
}
