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

/// <summary>
/// The objects fill pinned on the SSD tier: out of its eviction policy, whose capacity is the tier minus
/// their bytes, until the fill manifest drops them. A pin is one decision under the cache's policy lock
/// against what the store holds (SSD evictions delete under the same lock); fill writes and players'
/// pull writes share the SSD tier's one-writer-per-key claims. Persisted in <see cref="PinSet"/>.
/// </summary>
internal sealed class PinnedObjects
{
    private readonly Lock _policyLock;
    private readonly PinSet _pins;
    private readonly SsdTier _ssd;
    private readonly SemaphoreSlim _fileGate = new(1, 1);

    public PinnedObjects(Lock policyLock, PinSet pins, SsdTier ssd)
    {
        _policyLock = policyLock;
        _pins = pins;
        _ssd = ssd;
    }

    public long Bytes
    {
        get
        {
            lock (_policyLock)
            {
                return _pins.Bytes;
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_policyLock)
            {
                return _pins.Count;
            }
        }
    }

    public IReadOnlyList<ulong> Keys()
    {
        lock (_policyLock)
        {
            return [.. _pins.Keys];
        }
    }

    public bool Contains(ulong key)
    {
        lock (_policyLock)
        {
            return _pins.Contains(key);
        }
    }

    public bool ContainsLocked(ulong key) => _pins.Contains(key);

    public PinOutcome PinHeld(ulong key, long bodyLength, byte[] sha256)
    {
        lock (_policyLock)
        {
            return PinHeldLocked(key, sha256, bodyLength);
        }
    }

    public string CapacityError(string path)
    {
        lock (_policyLock)
        {
            return $"{path}: pinning it would exceed Appliance:Cache:SsdBytes ({_pins.Bytes} of {_ssd.CapacityBytes} bytes pinned)";
        }
    }

    /// <summary>Drops a pin without returning the object to the policy (it is being purged); true when it was pinned.</summary>
    public bool DropLocked(ulong key)
    {
        if (!_pins.Remove(key, out _))
        {
            return false;
        }

        _ssd.ResizeLocked();
        return true;
    }

    /// <summary>Releases a pin; <paramref name="path"/>, when known, gives a content-aware policy the object's hint.</summary>
    public void Unpin(ulong key, string? path = null)
    {
        lock (_policyLock)
        {
            UnpinLocked(key, path);
        }
    }

    /// <summary>Releases a pin: the policy grows back, and the object, if the store still holds it, becomes an ordinary policy entry.</summary>
    private void UnpinLocked(ulong key, string? path = null)
    {
        if (!_pins.Remove(key, out _))
        {
            return;
        }

        _ssd.ResizeLocked();
        if (_ssd.Store.TryGetBodyLength(key, out var length))
        {
            _ssd.ReturnToPolicyLocked(key, length, path);
        }
    }

    public async Task SaveAsync(CancellationToken cancellationToken)
    {
        await _fileGate.WaitAsync(cancellationToken).ConfigureAwait(false);
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
            _fileGate.Release();
        }
    }

    /// <summary>See <see cref="SegmentCache.StoreFilledAsync"/>.</summary>
    public async Task<FillWriteResult> StoreFilledAsync(ulong key, string path, byte[] body, byte[] sha256, string contentType, string etag, DateTimeOffset lastModified, CancellationToken cancellationToken)
    {
        var info = new ObjectInfo(path, body.LongLength, etag, lastModified, contentType, ContentTypes.CacheControlFor(path));
        while (true)
        {
            PinOutcome held;
            lock (_policyLock)
            {
                held = PinHeldLocked(key, sha256, body.LongLength);
                if (held == PinOutcome.NotHeld && !FitsLocked(body.LongLength))
                {
                    held = PinOutcome.OverCapacity;
                }
            }

            if (held != PinOutcome.NotHeld)
            {
                return Filled(held, path);
            }

            if (!_ssd.TryClaimWrite(key, out var mine, out var underWay))
            {
                // A player's miss (or another fill) is writing it: pin what it wrote if that is this body.
                await underWay.WaitAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            try
            {
                if (!await _ssd.WriteObjectAsync(key, info, body, sha256, cancellationToken).ConfigureAwait(false))
                {
                    return new FillWriteResult(false, $"{path}: the SSD tier could not store it (see cache errors)");
                }

                PinOutcome pinned;
                lock (_policyLock)
                {
                    pinned = PinHeldLocked(key, sha256, body.LongLength);
                    if (pinned == PinOutcome.OverCapacity)
                    {
                        _ssd.ReturnToPolicyLocked(key, body.LongLength, path);
                    }
                }

                return Filled(pinned, path);
            }
            finally
            {
                _ssd.ReleaseWrite(key, mine);
            }
        }
    }

    private FillWriteResult Filled(PinOutcome outcome, string path) => outcome switch
    {
        PinOutcome.Pinned => new FillWriteResult(true, null),
        PinOutcome.OverCapacity => new FillWriteResult(false, CapacityError(path)),
        _ => new FillWriteResult(false, $"{path}: evicted from the SSD tier before it could be pinned"),
    };

    /// <summary>
    /// Pins <paramref name="key"/> if the store holds it with this body and the pinned bytes stay within the
    /// SSD tier. A pin whose object the store no longer holds with this body (dropped as corrupt, or another
    /// version) is released, so the object is stored again; another version still on SSD goes back under the
    /// eviction policy meanwhile.
    /// </summary>
    private PinOutcome PinHeldLocked(ulong key, byte[] bodySha256, long bodyLength)
    {
        if (!_ssd.Store.HoldsBody(key, bodyLength, bodySha256))
        {
            UnpinLocked(key);
            return PinOutcome.NotHeld;
        }

        if (_pins.Contains(key))
        {
            return PinOutcome.Pinned;
        }

        var length = Math.Max(1, bodyLength);
        if (!FitsLocked(length))
        {
            return PinOutcome.OverCapacity;
        }

        _pins.Add(key, length);
        _ssd.RemoveFromPolicyLocked(key);
        _ssd.ResizeLocked();
        return PinOutcome.Pinned;
    }

    private bool FitsLocked(long length) => _pins.Bytes + Math.Max(1, length) <= _ssd.CapacityBytes;
}
