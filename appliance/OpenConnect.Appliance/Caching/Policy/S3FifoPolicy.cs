namespace OpenConnect.Appliance.Caching.Policy;

/// <summary>
/// Size-aware S3-FIFO (Yang et al., SOSP'23) mapped onto the appliance's two tiers.
/// <list type="bullet">
/// <item>Small queue (~10% of bytes, RAM only): every new object starts here. Most video segments are
/// requested once (deep segments of unpopular titles); they leave from here without ever costing an SSD write.</item>
/// <item>Main queue (SSD): an object that was hit while in the small queue moves here when it reaches the
/// head of small. That move is the SSD write. Main evicts FIFO with reinsertion: an object with a
/// non-zero counter goes back to the tail with the counter decremented.</item>
/// <item>Ghost queue (keys only): keys evicted from small without a hit. A miss on a ghost key is
/// admitted straight to main: it proved it is requested again, only too slowly for the small queue.</item>
/// </list>
/// The cache learns which keys were written to main through the <see cref="Admit(ulong, long, List{ulong}, List{ulong}?)"/>
/// overload's <c>promoted</c> list: the caller owns and clears the list, so a call allocates nothing.
/// <see cref="Access"/> never promotes; only admissions (which may evict from small) do.
/// </summary>
public sealed class S3FifoPolicy : ITieredPolicy
{
    private const byte InSmall = 1;
    private const byte InMain = 2;
    private const byte InGhost = 3;

    private readonly NodeStore _store;
    private long _smallCapacity;
    private long _mainCapacity;
    private long _ghostCapacity;
    private long _maxSmallObject;
    private readonly byte _frequencyCap;
    private readonly byte _promoteThreshold;
    private NodeQueue _small = NodeQueue.Empty;
    private NodeQueue _main = NodeQueue.Empty;
    private NodeQueue _ghost = NodeQueue.Empty;

    public S3FifoPolicy(long capacityBytes, S3FifoOptions? options = null, int expectedObjects = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityBytes);
        options ??= new S3FifoOptions();
        options.Validate();
        Options = options;
        SetCapacity(capacityBytes);
        _frequencyCap = (byte)options.FrequencyCap;
        _promoteThreshold = (byte)options.PromoteThreshold;
        _store = new NodeStore(expectedObjects);
    }

    public S3FifoOptions Options { get; }

    public long CapacityBytes { get; private set; }

    public long UsedBytes => _small.Bytes + _main.Bytes;

    public int Count => _small.Count + _main.Count;

    /// <summary>Bytes in the small queue: the RAM-only tier.</summary>
    public long SmallBytes => _small.Bytes;

    public long SmallCapacityBytes => _smallCapacity;

    /// <summary>Bytes in the main queue: the SSD tier.</summary>
    public long MainBytes => _main.Bytes;

    public int GhostCount => _ghost.Count;

    /// <summary>Bytes that entered main (promotions from small plus ghost hits): the SSD write volume.</summary>
    public long BytesAdmittedToMain { get; private set; }

    public long ObjectsAdmittedToMain { get; private set; }

    public bool Contains(ulong key)
    {
        var node = _store.Find(key);
        return node != NodeStore.None && _store[node].Queue != InGhost;
    }

    /// <summary>True when the object is resident in main, i.e. it has been written to the SSD tier.</summary>
    public bool IsInMain(ulong key)
    {
        var node = _store.Find(key);
        return node != NodeStore.None && _store[node].Queue == InMain;
    }

    public bool Access(ulong key)
    {
        var node = _store.Find(key);
        if (node == NodeStore.None)
        {
            return false;
        }

        ref var n = ref _store[node];
        if (n.Queue == InGhost)
        {
            return false;
        }

        // A hit only bumps a saturating counter: no list surgery, which is what makes S3-FIFO cheap to share.
        if (n.Freq < _frequencyCap)
        {
            n.Freq++;
        }

        return true;
    }

    public bool Admit(ulong key, long size, List<ulong> evicted) => Admit(key, size, evicted, null);

    /// <summary>
    /// As <see cref="IEvictionPolicy.Admit"/>; in addition every key that entered main during this call
    /// (promoted from small, or the admitted key itself on a ghost hit) is appended to
    /// <paramref name="promoted"/>: the cache writes those objects to SSD. A key can appear in both lists
    /// when it is promoted and then evicted within the same call.
    /// </summary>
    public bool Admit(ulong key, long size, List<ulong> evicted, List<ulong>? promoted)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        var node = _store.Find(key);
        var ghostHit = false;
        if (node != NodeStore.None)
        {
            if (_store[node].Queue == InSmall)
            {
                // Offered again while on probation: the caller missed it in every faster tier (its
                // body left RAM), so this second request is the proof of reuse and the moment its
                // bytes are at hand. Promote now rather than lose the body and miss again.
                var smallSize = _store[node].Size;
                _store.Unlink(ref _small, node);
                if (smallSize > _mainCapacity)
                {
                    _store.Free(node);
                    return false;
                }

                MakeRoomInMain(smallSize, evicted);
                ref var moved = ref _store[node];
                moved.Freq = 0;
                moved.Queue = InMain;
                _store.PushTail(ref _main, node);
                NoteAdmittedToMain(key, smallSize, promoted);
                return true;
            }

            if (_store[node].Queue != InGhost)
            {
                return true;
            }

            ghostHit = true;
            _store.Unlink(ref _ghost, node);
            _store.Free(node);
        }

        if (size > CapacityBytes)
        {
            return false;
        }

        if (ghostHit && size <= _mainCapacity)
        {
            MakeRoomInMain(size, evicted);
            var added = _store.Allocate(key, size, InMain);
            _store.PushTail(ref _main, added);
            NoteAdmittedToMain(key, size, promoted);
            return true;
        }

        // New objects go on probation (as do ghost hits too large for main, which then fail the size checks below).
        if (size > _maxSmallObject)
        {
            // Too large for probation: remember it, and let a second miss admit it to main.
            RememberInGhost(key, size);
            return false;
        }

        // Each tier is bounded on its own (small = RAM, main = SSD), so the small queue never borrows
        // space main has not filled yet: the RAM budget holds even while the SSD warms up.
        while (_small.Bytes + size > _smallCapacity && _small.Count > 0)
        {
            EvictSmall(evicted, promoted);
        }

        _store.PushTail(ref _small, _store.Allocate(key, size, InSmall));
        return true;
    }

    /// <summary>
    /// Puts an object that is (or is being put) on SSD straight into main, from wherever the policy
    /// had it: used to rebuild the policy from the SSD tier after a restart, so a reboot does not
    /// send stored objects back through probation, and for objects a fill placed on SSD. Returns
    /// false when it does not fit.
    /// </summary>
    public bool Restore(ulong key, long size, List<ulong> evicted)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        var node = _store.Find(key);
        if (node != NodeStore.None)
        {
            var queue = _store[node].Queue;
            if (queue == InMain)
            {
                return true;
            }

            _store.Unlink(ref queue == InSmall ? ref _small : ref _ghost, node);
            _store.Free(node);
        }

        if (size > _mainCapacity)
        {
            return false;
        }

        MakeRoomInMain(size, evicted);
        _store.PushTail(ref _main, _store.Allocate(key, size, InMain));
        return true;
    }

    /// <summary>
    /// Changes the capacity, keeping the queue fractions: a shrink first empties the small queue
    /// down to its new size (its hit objects move to main, as at any small eviction), then evicts
    /// from main. Promotions during a resize are not reported: those bodies are written at their next miss.
    /// </summary>
    public void Resize(long capacityBytes, List<ulong> evicted)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityBytes);
        SetCapacity(capacityBytes);
        while (_small.Bytes > _smallCapacity && _small.Count > 0)
        {
            EvictSmall(evicted, null);
        }

        MakeRoomInMain(0, evicted);
    }

    private void SetCapacity(long capacityBytes)
    {
        CapacityBytes = capacityBytes;
        _smallCapacity = Math.Max(1, (long)(capacityBytes * Options.SmallFraction));
        _mainCapacity = capacityBytes - _smallCapacity;
        _ghostCapacity = (long)(capacityBytes * Options.GhostFraction);
        _maxSmallObject = Math.Max(1, (long)(_smallCapacity * Options.MaxSmallObjectFraction));
    }

    public bool Remove(ulong key)
    {
        var node = _store.Find(key);
        if (node == NodeStore.None)
        {
            return false;
        }

        // An explicit removal (purge, failed integrity check) also forgets the ghost entry: it must not fast-track.
        var queue = _store[node].Queue;
        _store.Unlink(ref queue == InSmall ? ref _small : ref queue == InMain ? ref _main : ref _ghost, node);
        _store.Free(node);
        return queue != InGhost;
    }

    /// <summary>Takes the head of the small queue: to main if it was hit during probation, else out of the cache and into the ghost.</summary>
    private void EvictSmall(List<ulong> evicted, List<ulong>? promoted)
    {
        var node = _small.Head;
        _store.Unlink(ref _small, node);
        var key = _store[node].Key;
        var size = _store[node].Size;
        if (_store[node].Freq >= _promoteThreshold)
        {
            // The counter restarts in main: the probation hit earned the SSD write, not extra passes.
            MakeRoomInMain(size, evicted);
            ref var n = ref _store[node];
            n.Freq = 0;
            n.Queue = InMain;
            _store.PushTail(ref _main, node);
            NoteAdmittedToMain(key, size, promoted);
            return;
        }

        // Not hit during probation: out of the cache, remembered in the ghost.
        evicted.Add(key);
        _store.Free(node);
        RememberInGhost(key, size);
    }

    /// <summary>FIFO with reinsertion: objects hit since their last pass go round again with one less credit.</summary>
    private void MakeRoomInMain(long size, List<ulong> evicted)
    {
        while (_main.Bytes + size > _mainCapacity && _main.Count > 0)
        {
            var node = _main.Head;
            ref var n = ref _store[node];
            if (n.Freq > 0)
            {
                n.Freq--;
                _store.Unlink(ref _main, node);
                _store.PushTail(ref _main, node);
                continue;
            }

            evicted.Add(n.Key);
            _store.Unlink(ref _main, node);
            _store.Free(node);
        }
    }

    private void RememberInGhost(ulong key, long size)
    {
        if (_ghostCapacity == 0)
        {
            return;
        }

        _store.PushTail(ref _ghost, _store.Allocate(key, size, InGhost));
        while (_ghost.Bytes > _ghostCapacity && _ghost.Count > 0)
        {
            var oldest = _ghost.Head;
            _store.Unlink(ref _ghost, oldest);
            _store.Free(oldest);
        }
    }

    private void NoteAdmittedToMain(ulong key, long size, List<ulong>? promoted)
    {
        BytesAdmittedToMain += size;
        ObjectsAdmittedToMain++;
        promoted?.Add(key);
    }
}
