namespace OpenConnect.Appliance.Caching.Policy;

/// <summary>Least recently used, bounded in bytes. Baseline for the simulator; every admission is a write.</summary>
public sealed class LruPolicy : IEvictionPolicy
{
    private readonly NodeStore _store;
    private NodeQueue _queue = NodeQueue.Empty; // head = least recently used

    public LruPolicy(long capacityBytes, int expectedObjects = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityBytes);
        CapacityBytes = capacityBytes;
        _store = new NodeStore(expectedObjects);
    }

    public long CapacityBytes { get; }

    public long UsedBytes => _queue.Bytes;

    public int Count => _queue.Count;

    public bool Contains(ulong key) => _store.Find(key) != NodeStore.None;

    public bool Access(ulong key)
    {
        var node = _store.Find(key);
        if (node == NodeStore.None)
        {
            return false;
        }

        _store.Unlink(ref _queue, node);
        _store.PushTail(ref _queue, node);
        return true;
    }

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
