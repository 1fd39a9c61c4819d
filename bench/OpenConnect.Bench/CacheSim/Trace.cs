using OpenConnect.Appliance.Caching.Policy;

namespace OpenConnect.Bench.CacheSim;

/// <summary>A request trace held as parallel arrays (a few million requests fit in tens of MB).</summary>
internal sealed class Trace
{
    private int[]? _nextUse;

    public Trace(string name, uint[] times, ulong[] keys, long[] sizes, ContentHint[]? hints = null)
    {
        if (hints is not null && hints.Length != keys.Length)
        {
            throw new ArgumentException("one hint per request", nameof(hints));
        }

        Name = name;
        Times = times;
        Keys = keys;
        Sizes = sizes;
        Hints = hints;
        var firstSize = new Dictionary<ulong, (long Size, int Requests)>();
        for (var i = 0; i < keys.Length; i++)
        {
            TotalBytes += sizes[i];
            if (firstSize.TryGetValue(keys[i], out var seen))
            {
                firstSize[keys[i]] = (seen.Size, seen.Requests + 1);
            }
            else
            {
                firstSize.Add(keys[i], (sizes[i], 1));
                UniqueBytes += sizes[i];
            }
        }

        UniqueObjects = firstSize.Count;
        foreach (var (size, requests) in firstSize.Values)
        {
            if (requests == 1)
            {
                OneHitBytes += size;
            }
        }
    }

    public string Name { get; }

    public uint[] Times { get; }

    public ulong[] Keys { get; }

    public long[] Sizes { get; }

    /// <summary>Title, rendition and segment of each request, as the appliance derives them from the path; null when the trace has no such columns (files).</summary>
    public ContentHint[]? Hints { get; }

    public int Count => Keys.Length;

    public long TotalBytes { get; }

    /// <summary>Sum of each distinct object's size (first size seen): the working set the cache sizes are fractions of.</summary>
    public long UniqueBytes { get; }

    public int UniqueObjects { get; }

    /// <summary>Bytes of objects requested exactly once: part of the compulsory misses no policy can turn into hits, and writes no policy should make.</summary>
    public long OneHitBytes { get; }

    /// <summary>Next request index of the same key, for <see cref="BeladyMin"/>; computed once and shared.</summary>
    public int[] NextUse => _nextUse ??= BeladyMin.ComputeNextUse(Keys);
}

/// <summary>Growable arrays for readers and the generator.</summary>
internal sealed class TraceBuilder(int capacity)
{
    private uint[] _times = new uint[Math.Max(capacity, 16)];
    private ulong[] _keys = new ulong[Math.Max(capacity, 16)];
    private long[] _sizes = new long[Math.Max(capacity, 16)];
    private ContentHint[]? _hints;

    public int Count { get; private set; }

    public void Add(uint time, ulong key, long size)
    {
        if (Count == _keys.Length)
        {
            var n = _keys.Length * 2;
            Array.Resize(ref _times, n);
            Array.Resize(ref _keys, n);
            Array.Resize(ref _sizes, n);
            if (_hints is not null)
            {
                Array.Resize(ref _hints, n);
            }
        }

        _times[Count] = time;
        _keys[Count] = key;
        _sizes[Count] = size;
        Count++;
    }

    /// <summary>Adds a request with its content hint; a builder takes hints for every request or for none.</summary>
    public void Add(uint time, ulong key, long size, ContentHint hint)
    {
        if (Count > 0 && _hints is null)
        {
            throw new InvalidOperationException("hints must be given from the first request on");
        }

        _hints ??= new ContentHint[_keys.Length];
        var at = Count;
        Add(time, key, size);
        _hints[at] = hint;
    }

    public Trace Build(string name) => new(name, _times[..Count], _keys[..Count], _sizes[..Count], _hints?[..Count]);
}
