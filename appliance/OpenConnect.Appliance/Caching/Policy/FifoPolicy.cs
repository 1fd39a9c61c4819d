namespace OpenConnect.Appliance.Caching.Policy;

/// <summary>First in, first out, bounded in bytes: hits change nothing. Baseline for the simulator and the eviction order of a log-structured SSD tier.</summary>
public sealed class FifoPolicy : IEvictionPolicy
{
    private readonly NodeStore _store;
    private NodeQueue _queue = NodeQueue.Empty; // head = oldest admission

    public FifoPolicy(long capacityBytes, int expectedObjects = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityBytes);
        CapacityBytes = capacityBytes;
        _store = new NodeStore(expectedObjects);
    }

    public long CapacityBytes { get; }

    public long UsedBytes => _queue.Bytes;

    public int Count => _queue.Count;

    public bool Contains(ulong key) => _store.Find(key) != NodeStore.None;

    public bool Access(ulong key) => _store.Find(key) != NodeStore.None;

    public bool Admit(ulong key, long size, List<ulong> evicted)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        if (_store.Find(key) != NodeStore.None)
        {
            return true;
        }

        if (size > CapacityBytes)
        {
            return false;
        }

        while (_queue.Bytes + size > CapacityBytes)
        {
            var victim = _queue.Head;
            evicted.Add(_store[victim].Key);
            _store.Unlink(ref _queue, victim);
            _store.Free(victim);
        }

        _store.PushTail(ref _queue, _store.Allocate(key, size, 0));
        return true;
    }

    public bool Remove(ulong key)
    {
        var node = _store.Find(key);
        if (node == NodeStore.None)
        {
            return false;
        }

        _store.Unlink(ref _queue, node);
        _store.Free(node);
        return true;
    }
}
