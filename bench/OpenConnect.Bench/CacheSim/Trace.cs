using OpenConnect.Appliance.Caching.Policy;

namespace OpenConnect.Bench.CacheSim;

/// <summary>A request trace held as parallel arrays (a few million requests fit in tens of MB).</summary>
internal sealed class Trace
{
    private int[]? _nextUse;

    public Trace(string name, uint[] times, ulong[] keys, long[] sizes)
    {
        Name = name;
        Times = times;
        Keys = keys;
        Sizes = sizes;
        var firstSize = new Dictionary<ulong, long>();
        for (var i = 0; i < keys.Length; i++)
        {
            TotalBytes += sizes[i];
            if (firstSize.TryAdd(keys[i], sizes[i]))
            {
                UniqueBytes += sizes[i];
            }
        }

        UniqueObjects = firstSize.Count;
    }

    public string Name { get; }

    public uint[] Times { get; }

    public ulong[] Keys { get; }

    public long[] Sizes { get; }

    public int Count => Keys.Length;

    public long TotalBytes { get; }

    /// <summary>Sum of each distinct object's size (first size seen): the working set the cache sizes are fractions of.</summary>
    public long UniqueBytes { get; }

    public int UniqueObjects { get; }

    /// <summary>Next request index of the same key, for <see cref="BeladyMin"/>; computed once and shared.</summary>
    public int[] NextUse => _nextUse ??= BeladyMin.ComputeNextUse(Keys);
}

/// <summary>Growable arrays for readers and the generator.</summary>
internal sealed class TraceBuilder(int capacity)
{
    private uint[] _times = new uint[Math.Max(capacity, 16)];
    private ulong[] _keys = new ulong[Math.Max(capacity, 16)];
    private long[] _sizes = new long[Math.Max(capacity, 16)];

    public int Count { get; private set; }

    public void Add(uint time, ulong key, long size)
    {
        if (Count == _keys.Length)
        {
            var n = _keys.Length * 2;
            Array.Resize(ref _times, n);
            Array.Resize(ref _keys, n);
            Array.Resize(ref _sizes, n);
        }

        _times[Count] = time;
        _keys[Count] = key;
        _sizes[Count] = size;
        Count++;
    }

    public Trace Build(string name) => new(name, _times[..Count], _keys[..Count], _sizes[..Count]);
}
