namespace OpenConnect.Appliance.Upstream;

/// <summary>
/// Parents' 404s, remembered for <c>Appliance:Upstream:NotFoundTtl</c> so a burst of requests for a
/// missing object reaches the parents once. Bounded by entries (<c>NotFoundMaxEntries</c>) and bytes
/// (<c>NotFoundMaxBytes</c>, counting <see cref="EntryOverheadBytes"/> plus the path's characters per
/// entry): a flood of unique missing names pushes the oldest entries out instead of growing memory.
/// Every entry lives the same TTL, so insertion order is expiry order and one FIFO queue serves both.
/// The path is kept so a colliding 64-bit key is never answered 404 for another object.
/// </summary>
public sealed class NotFoundCache
{
    /// <summary>What one entry is counted as besides its path: dictionary slot, queue slot, string header.</summary>
    public const int EntryOverheadBytes = 96;

    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, Entry> _entries = [];
    private readonly Queue<(ulong Key, long Sequence)> _order = new();
    private readonly TimeProvider _time;
    private readonly long _ttlTicks;
    private readonly int _maxEntries;
    private readonly long _maxBytes;
    private long _sequence;

    public NotFoundCache(TimeSpan ttl, int maxEntries, long maxBytes, TimeProvider time)
    {
        _time = time;
        _ttlTicks = (long)(ttl.TotalSeconds * time.TimestampFrequency);
        _maxEntries = maxEntries;
        _maxBytes = maxBytes;
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Bytes the entries are counted as (see <see cref="EntryOverheadBytes"/>).</summary>
    public long Bytes { get; private set; }

    /// <summary>Whether a parent answered 404 for <paramref name="path"/> within the TTL.</summary>
    public bool IsNotFound(ulong key, string path)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var entry) || entry.Path != path)
            {
                return false;
            }

            if (_time.GetTimestamp() < entry.Until)
            {
                return true;
            }

            RemoveLocked(key, entry);
            return false;
        }
    }

    /// <summary>Remembers a 404, pushing out expired entries and then the oldest while over a bound.</summary>
    public void Add(ulong key, string path)
    {
        if (_ttlTicks <= 0)
        {
            return;
        }

        lock (_lock)
        {
            var now = _time.GetTimestamp();
            if (_entries.TryGetValue(key, out var previous))
            {
                RemoveLocked(key, previous);
            }

            var entry = new Entry(path, now + _ttlTicks, ++_sequence);
            _entries[key] = entry;
            _order.Enqueue((key, entry.Sequence));
            Bytes += SizeOf(path);
            while (_order.TryPeek(out var oldest))
            {
                var live = _entries.TryGetValue(oldest.Key, out var held) && held.Sequence == oldest.Sequence;
                if (live && held.Until > now && _entries.Count <= _maxEntries && Bytes <= _maxBytes)
                {
                    break;
                }

                _order.Dequeue();
                if (live)
                {
                    RemoveLocked(oldest.Key, held);
                }
            }
        }
    }

    /// <summary>Forgets every remembered 404 whose path <paramref name="match"/> takes (null: all); returns how many.</summary>
    public int Forget(Func<string, bool>? match)
    {
        lock (_lock)
        {
            var doomed = _entries.Where(e => match is null || match(e.Value.Path)).ToList();
            foreach (var (key, entry) in doomed)
            {
                RemoveLocked(key, entry);
            }

            return doomed.Count;
        }
    }

    private void RemoveLocked(ulong key, Entry entry)
    {
        _entries.Remove(key);
        Bytes -= SizeOf(entry.Path);
    }

    private static long SizeOf(string path) => EntryOverheadBytes + (2L * path.Length);

    private readonly record struct Entry(string Path, long Until, long Sequence);
}
