namespace OpenConnect.Appliance.Caching.Policy;

/// <summary>One entry of a policy's intrusive lists. A struct in a pooled array, so admitting an object allocates nothing.</summary>
internal struct PolicyNode
{
    public ulong Key;
    public long Size;
    public int Prev;
    public int Next;

    /// <summary>Which list the node is on; meaning is up to the policy.</summary>
    public byte Queue;

    /// <summary>Saturating access counter (S3-FIFO's 2-bit frequency).</summary>
    public byte Freq;
}

/// <summary>A doubly linked FIFO threaded through <see cref="NodeStore"/>'s array, with its byte total.</summary>
internal struct NodeQueue
{
    public int Head;
    public int Tail;
    public long Bytes;
    public int Count;

    public static NodeQueue Empty => new() { Head = NodeStore.None, Tail = NodeStore.None };
}

/// <summary>
/// Key index plus a pooled node array with a free list. Nodes are addressed by int so the lists are
/// plain arrays (no per-entry objects for the GC to trace, no allocation per admission once the pool
/// has grown to the working set).
/// </summary>
internal sealed class NodeStore
{
    public const int None = -1;

    private readonly Dictionary<ulong, int> _index;
    private PolicyNode[] _nodes;
    private int _freeHead = None;
    private int _used;

    public NodeStore(int initialCapacity)
    {
        initialCapacity = Math.Max(initialCapacity, 16);
        _index = new Dictionary<ulong, int>(initialCapacity);
        _nodes = new PolicyNode[initialCapacity];
    }

    public int Count => _index.Count;

    public ref PolicyNode this[int node] => ref _nodes[node];

    public int Find(ulong key) => _index.TryGetValue(key, out var node) ? node : None;

    public int Allocate(ulong key, long size, byte queue)
    {
        int node;
        if (_freeHead != None)
        {
            node = _freeHead;
            _freeHead = _nodes[node].Next;
        }
        else
        {
            if (_used == _nodes.Length)
            {
                // Amortised growth: the pool settles at the working set and stops allocating.
                Array.Resize(ref _nodes, _nodes.Length * 2);
            }

            node = _used++;
        }

        _nodes[node] = new PolicyNode { Key = key, Size = size, Prev = None, Next = None, Queue = queue };
        _index.Add(key, node);
        return node;
    }

    public void Free(int node)
    {
        _index.Remove(_nodes[node].Key);
        _nodes[node].Next = _freeHead;
        _freeHead = node;
    }

    public void PushTail(ref NodeQueue queue, int node)
    {
        ref var n = ref _nodes[node];
        n.Prev = queue.Tail;
        n.Next = None;
        if (queue.Tail == None)
        {
            queue.Head = node;
        }
        else
        {
            _nodes[queue.Tail].Next = node;
        }

        queue.Tail = node;
        queue.Bytes += n.Size;
        queue.Count++;
    }

    public void Unlink(ref NodeQueue queue, int node)
    {
        ref var n = ref _nodes[node];
        if (n.Prev == None)
        {
            queue.Head = n.Next;
        }
        else
        {
            _nodes[n.Prev].Next = n.Next;
        }

        if (n.Next == None)
        {
            queue.Tail = n.Prev;
        }
        else
        {
            _nodes[n.Next].Prev = n.Prev;
        }

        n.Prev = None;
        n.Next = None;
        queue.Bytes -= n.Size;
        queue.Count--;
    }
}
