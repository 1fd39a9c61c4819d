using OpenConnect.Contracts.Content;

namespace OpenConnect.Appliance.Caching;

/// <summary>The outcome of storing one filled object.</summary>
public readonly record struct FillWriteResult(bool Ok, string? Error);

/// <summary>The outcome of <see cref="SegmentCache.PinHeld"/>.</summary>
public enum PinOutcome
{
    /// <summary>Pinned (now or before): outside the SSD policy until unpinned.</summary>
    Pinned,

    /// <summary>The SSD tier does not hold the object (never stored, or evicted meanwhile): fetch and store it.</summary>
    NotHeld,

    /// <summary>Pinning it would take the pinned bytes beyond the SSD tier (<c>Appliance:Cache:SsdBytes</c>).</summary>
    OverCapacity,
}

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
    /// Pins an object the SSD tier holds with this body (length and SHA-256, as the integrity manifest names
    /// it): it leaves the eviction policy and the policy's capacity shrinks by its length. One decision under
    /// the policy lock, so a player's miss cannot evict the object between the look and the pin (evictions
    /// delete under the same lock). A held object with another body (an older version) is not pinned: the
    /// caller fetches the named one. Refused when the pinned bytes would exceed the SSD tier. Call
    /// <see cref="SavePinsAsync"/> to make pins durable.
    /// </summary>
    public PinOutcome PinHeld(ulong key, long bodyLength, byte[] sha256)
    {
        lock (_policyLock)
        {
            return PinHeldLocked(key, sha256, bodyLength);
        }
    }

    /// <summary>The error a fill reports for an object it may not pin.</summary>
    public string PinCapacityError(string path)
    {
        lock (_policyLock)
        {
            return $"{path}: pinning it would exceed Appliance:Cache:SsdBytes ({_pins.Bytes} of {_ssdCapacity} bytes pinned)";
        }
    }

    /// <summary>Hands a pinned object back to the eviction policy as an ordinary (main-resident) entry.</summary>
    public void Unpin(ulong key)
    {
        lock (_policyLock)
        {
            UnpinLocked(key);
        }

        UpdateGauges();
    }

    /// <summary>Releases a pin: the policy grows back, and the object, if the store still holds it, becomes an ordinary policy entry (under the policy lock).</summary>
    private void UnpinLocked(ulong key)
    {
        if (!_pins.Remove(key, out _))
        {
            return;
        }

        ResizeSsdPolicy();
        if (_store.TryGetBodyLength(key, out var length))
        {
            ReturnToSsdPolicy(key, length);
            DropSsdEvictions();
        }
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
    /// Stores a filled object whose body the caller fetched and checked against <paramref name="sha256"/>, and
    /// pins it. The SSD tier may already hold this body (a player's miss wrote it): it is only pinned. A write
    /// of the same key under way is waited for rather than doubled. The body is not hashed again: the header
    /// carries <paramref name="sha256"/>. Refused when the pinned bytes would exceed the SSD tier, checked again
    /// when pinning (an object written but refused then stays on SSD under the policy). Storage failures are a
    /// failed result, never an exception.
    /// </summary>
    public async Task<FillWriteResult> StoreFilledAsync(ulong key, string path, byte[] body, byte[] sha256, string contentType, string etag, DateTimeOffset lastModified, CancellationToken cancellationToken)
    {
        var info = new ObjectInfo(path, body.LongLength, etag, lastModified, contentType, ContentTypes.CacheControlFor(path));
        while (true)
        {
            PinOutcome held;
            lock (_policyLock)
            {
                held = PinHeldLocked(key, sha256, body.LongLength);
                if (held == PinOutcome.NotHeld && !FitsPinnedLocked(body.LongLength))
                {
                    held = PinOutcome.OverCapacity;
                }
            }

            if (held != PinOutcome.NotHeld)
            {
                return Filled(held, path);
            }

            if (!TryClaimWrite(key, out var mine, out var underWay))
            {
                // A player's miss (or another fill) is writing it: pin what it wrote if that is this body.
                await underWay.WaitAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            try
            {
                if (!await WriteObjectAsync(key, info, body, sha256, cancellationToken).ConfigureAwait(false))
                {
                    return new FillWriteResult(false, $"{path}: the SSD tier could not store it (see cache errors)");
                }

                PinOutcome pinned;
                lock (_policyLock)
                {
                    pinned = PinHeldLocked(key, sha256, body.LongLength);
                    if (pinned == PinOutcome.OverCapacity)
                    {
                        ReturnToSsdPolicy(key, body.LongLength);
                        DropSsdEvictions();
                    }
                }

                return Filled(pinned, path);
            }
            finally
            {
                ReleaseWrite(key, mine);
                UpdateGauges();
            }
        }
    }

    private FillWriteResult Filled(PinOutcome outcome, string path) => outcome switch
    {
        PinOutcome.Pinned => new FillWriteResult(true, null),
        PinOutcome.OverCapacity => new FillWriteResult(false, PinCapacityError(path)),
        _ => new FillWriteResult(false, $"{path}: evicted from the SSD tier before it could be pinned"),
    };

    /// <summary>
    /// Pins <paramref name="key"/> if the store holds it with this body and the pinned bytes stay within the
    /// SSD tier; the caller holds the policy lock. A pin whose object the store no longer holds with this body
    /// (dropped as corrupt, or another version) is released, so the object is stored again; another version
    /// still on SSD goes back under the eviction policy meanwhile.
    /// </summary>
    private PinOutcome PinHeldLocked(ulong key, byte[] bodySha256, long bodyLength)
    {
        if (!_store.HoldsBody(key, bodyLength, bodySha256))
        {
            UnpinLocked(key);
            return PinOutcome.NotHeld;
        }

        if (_pins.Contains(key))
        {
            return PinOutcome.Pinned;
        }

        var length = Math.Max(1, bodyLength);
        if (!FitsPinnedLocked(length))
        {
            return PinOutcome.OverCapacity;
        }

        _pins.Add(key, length);
        _ssd.Remove(key);
        ResizeSsdPolicy();
        return PinOutcome.Pinned;
    }

    private bool FitsPinnedLocked(long length) => _pins.Bytes + Math.Max(1, length) <= _ssdCapacity;

    /// <summary>Sets the SSD policy's capacity to the tier minus the pinned bytes (under the policy lock).</summary>
    private void ResizeSsdPolicy()
    {
        _ssd.Resize(Math.Max(1, _ssdCapacity - _pins.Bytes), _evicted);
        DropSsdEvictions();
    }
}
