namespace OpenConnect.Appliance.Caching.Policy;

/// <summary>
/// One byte-bounded queue that evicts from its head: FIFO when hits change nothing, LRU when a hit
/// moves the object to the tail. The baselines of the simulator; every admission is a write.
/// </summary>
public abstract class QueuePolicy : IResizablePolicy
{
    private readonly NodeStore _store;
    private readonly bool _moveOnHit;
    private NodeQueue _queue = NodeQueue.Empty; // head = next victim

    private protected QueuePolicy(long capacityBytes, int expectedObjects, bool moveOnHit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityBytes);
        CapacityBytes = capacityBytes;
        _store = new NodeStore(expectedObjects);
        _moveOnHit = moveOnHit;
    }

    public long CapacityBytes { get; private set; }

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

        if (_moveOnHit)
        {
            _store.Unlink(ref _queue, node);
            _store.PushTail(ref _queue, node);
        }

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

    public void Resize(long capacityBytes, List<ulong> evicted)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityBytes);
        CapacityBytes = capacityBytes;
        while (_queue.Bytes > CapacityBytes && _queue.Count > 0)
        {
            var victim = _queue.Head;
            evicted.Add(_store[victim].Key);
            _store.Unlink(ref _queue, victim);
            _store.Free(victim);
        }
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

/// <summary>First in, first out, bounded in bytes: hits change nothing.</summary>
public sealed class FifoPolicy(long capacityBytes, int expectedObjects = 1024) : QueuePolicy(capacityBytes, expectedObjects, moveOnHit: false);

/// <summary>Least recently used, bounded in bytes.</summary>
public sealed class LruPolicy(long capacityBytes, int expectedObjects = 1024) : QueuePolicy(capacityBytes, expectedObjects, moveOnHit: true);
