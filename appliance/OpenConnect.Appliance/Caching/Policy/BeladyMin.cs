namespace OpenConnect.Appliance.Caching.Policy;

/// <summary>
/// Offline bound for the simulator: Belady's MIN, which knows the future. On a miss it evicts the
/// resident objects whose next use is farthest away, and bypasses the new object when its own next use
/// is farther than theirs (or never comes).
/// <para>
/// With equal sizes this is the optimum for hit ratio. With variable sizes the optimum is NP-hard;
/// evicting the farthest next use regardless of size is a heuristic bound, not the exact optimum, and
/// an online policy can occasionally beat it on byte miss ratio.
/// </para>
/// <para>
/// Replay contract: <see cref="Access"/> is called exactly once per request, in trace order, and
/// <see cref="Admit(ulong, long, List{ulong})"/> at most once after a miss, for that same request.
/// <c>nextUse[i]</c> is the index of the next request for the key of request <c>i</c>, or
/// <see cref="NoNextUse"/>.
/// </para>
/// </summary>
public sealed class BeladyMin : IEvictionPolicy
{
    /// <summary>Marks a request whose object is never requested again.</summary>
    public const int NoNextUse = int.MaxValue;

    private readonly int[] _nextUse;
    private readonly Dictionary<ulong, int> _index;
    private Entry[] _entries;
    private int[] _heap; // max-heap of entry indices by NextUse: the root is the eviction victim
    private int _heapCount;
    private int _freeHead = -1;
    private int _allocated;
    private int _position = -1;

    public BeladyMin(long capacityBytes, int[] nextUse)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityBytes);
        ArgumentNullException.ThrowIfNull(nextUse);
        CapacityBytes = capacityBytes;
        _nextUse = nextUse;
        _index = new Dictionary<ulong, int>(1024);
        _entries = new Entry[1024];
        _heap = new int[1024];
    }

    public long CapacityBytes { get; }

    public long UsedBytes { get; private set; }

    public int Count => _heapCount;

    /// <summary>Computes the next-use array of a trace (one pass from the end; <see cref="NoNextUse"/> when none).</summary>
    public static int[] ComputeNextUse(ReadOnlySpan<ulong> keys)
    {
        var next = new int[keys.Length];
        var seen = new Dictionary<ulong, int>();
        for (var i = keys.Length - 1; i >= 0; i--)
        {
            next[i] = seen.TryGetValue(keys[i], out var j) ? j : NoNextUse;
            seen[keys[i]] = i;
        }

        return next;
    }

    public bool Contains(ulong key) => _index.ContainsKey(key);

    public bool Access(ulong key)
    {
        _position++;
        if ((uint)_position >= (uint)_nextUse.Length)
        {
            throw new InvalidOperationException("BeladyMin: more requests replayed than the next-use array describes");
        }

        if (!_index.TryGetValue(key, out var entry))
        {
            return false;
        }

        // The object's next use moves forward; restore the heap order from its slot.
        _entries[entry].NextUse = _nextUse[_position];
        SiftDown(SiftUp(_entries[entry].HeapSlot));
        return true;
    }

    public bool Admit(ulong key, long size, List<ulong> evicted)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        if (_index.ContainsKey(key))
        {
            return true;
        }

        var next = _position < 0 ? NoNextUse : _nextUse[_position];
        if (next == NoNextUse || size > CapacityBytes)
        {
            return false;
        }

        // Evict only objects needed later than the candidate; if that does not free enough, bypass it.
        // Objects already evicted stay evicted: they were the farthest, so freeing them is the right call anyway.
        while (UsedBytes + size > CapacityBytes && _entries[_heap[0]].NextUse > next)
        {
            var victim = _heap[0];
            evicted.Add(_entries[victim].Key);
            RemoveEntry(victim);
        }

        if (UsedBytes + size > CapacityBytes)
        {
            return false;
        }

        var e = AllocateEntry();
        _entries[e] = new Entry { Key = key, Size = size, NextUse = next, HeapSlot = _heapCount };
        if (_heapCount == _heap.Length)
        {
            Array.Resize(ref _heap, _heap.Length * 2);
        }

        _heap[_heapCount++] = e;
        SiftUp(_heapCount - 1);
        _index.Add(key, e);
        UsedBytes += size;
        return true;
    }

    public bool Remove(ulong key)
    {
        if (!_index.TryGetValue(key, out var entry))
        {
            return false;
        }

        RemoveEntry(entry);
        return true;
    }

    private int AllocateEntry()
    {
        if (_freeHead >= 0)
        {
            var e = _freeHead;
            _freeHead = _entries[e].HeapSlot;
            return e;
        }

        if (_allocated == _entries.Length)
        {
            Array.Resize(ref _entries, _entries.Length * 2);
        }

        return _allocated++;
    }

    private void RemoveEntry(int entry)
    {
        var slot = _entries[entry].HeapSlot;
        _index.Remove(_entries[entry].Key);
        UsedBytes -= _entries[entry].Size;
        _heapCount--;
        if (slot != _heapCount)
        {
            _heap[slot] = _heap[_heapCount];
            _entries[_heap[slot]].HeapSlot = slot;
            SiftDown(SiftUp(slot));
        }

        _entries[entry].HeapSlot = _freeHead; // free list threads through HeapSlot
        _freeHead = entry;
    }

    private int SiftUp(int slot)
    {
        var entry = _heap[slot];
        var key = _entries[entry].NextUse;
        while (slot > 0)
        {
            var parent = (slot - 1) >> 1;
            if (_entries[_heap[parent]].NextUse >= key)
            {
                break;
            }

            _heap[slot] = _heap[parent];
            _entries[_heap[slot]].HeapSlot = slot;
            slot = parent;
        }

        _heap[slot] = entry;
        _entries[entry].HeapSlot = slot;
        return slot;
    }

    private void SiftDown(int slot)
    {
        var entry = _heap[slot];
        var key = _entries[entry].NextUse;
        while (true)
        {
            var child = (2 * slot) + 1;
            if (child >= _heapCount)
            {
                break;
            }

            if (child + 1 < _heapCount && _entries[_heap[child + 1]].NextUse > _entries[_heap[child]].NextUse)
            {
                child++;
            }

            if (_entries[_heap[child]].NextUse <= key)
            {
                break;
            }

            _heap[slot] = _heap[child];
            _entries[_heap[slot]].HeapSlot = slot;
            slot = child;
        }

        _heap[slot] = entry;
        _entries[entry].HeapSlot = slot;
    }

    private struct Entry
    {
        public ulong Key;
        public long Size;
        public int NextUse;
        public int HeapSlot;
    }
}
