using Microsoft.Extensions.Options;

namespace OpenConnect.Appliance.Fill;

/// <summary>
/// Requests served per (title, rendition) since the fill agent last took them
/// (<see cref="Drain"/>), for the fill controller's per-site rendition mix. A bounded open-addressing
/// table (<c>Appliance:Fill:DemandTableEntries</c> keys): counting a request already in the table
/// allocates nothing; a new key stores the two strings the request parsed anyway; once the table
/// holds its limit of keys, requests of new keys are only counted as dropped.
/// </summary>
public sealed class RenditionRequestCounter
{
    private readonly Lock _lock = new();
    private readonly int _limit;
    private readonly int _mask;
    private string?[] _titles;
    private string?[] _renditions;
    private long[] _counts;
    private int _used;
    private long _dropped;

    public RenditionRequestCounter(IOptions<ApplianceOptions> options)
        : this(options.Value.Fill.DemandTableEntries)
    {
    }

    public RenditionRequestCounter(int entries)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(entries, 1);
        _limit = entries;
        // At most half full, so a probe ends after a few slots.
        var slots = (int)Math.Min(1 << 30, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)entries * 2));
        _mask = slots - 1;
        _titles = new string?[slots];
        _renditions = new string?[slots];
        _counts = new long[slots];
    }

    /// <summary>Distinct (title, rendition) keys counted since the last drain.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _used;
            }
        }
    }

    /// <summary>Counts one request of <paramref name="rendition"/> of <paramref name="title"/>.</summary>
    public void Record(string title, string rendition) => Add(title, rendition, 1);

    /// <summary>Adds <paramref name="requests"/> to the key's count (a report that failed is added back this way).</summary>
    public void Add(string title, string rendition, long requests)
    {
        var slot = (int)((uint)HashCode.Combine(title.GetHashCode(StringComparison.Ordinal), rendition.GetHashCode(StringComparison.Ordinal)) & (uint)_mask);
        lock (_lock)
        {
            while (_titles[slot] is { } held)
            {
                if (string.Equals(held, title, StringComparison.Ordinal) && string.Equals(_renditions[slot], rendition, StringComparison.Ordinal))
                {
                    _counts[slot] += requests;
                    return;
                }

                slot = (slot + 1) & _mask;
            }

            if (_used >= _limit)
            {
                _dropped += requests;
                return;
            }

            _titles[slot] = title;
            _renditions[slot] = rendition;
            _counts[slot] = requests;
            _used++;
        }
    }

    /// <summary>Takes every count (and the dropped requests) and starts the table empty.</summary>
    public (List<(string Title, string Rendition, long Requests)> Counts, long Dropped) Drain()
    {
        string?[] titles, renditions;
        long[] counts;
        long dropped;
        int used;
        lock (_lock)
        {
            (titles, renditions, counts, dropped, used) = (_titles, _renditions, _counts, _dropped, _used);
            if (used == 0 && dropped == 0)
            {
                return ([], 0);
            }

            _titles = new string?[titles.Length];
            _renditions = new string?[titles.Length];
            _counts = new long[titles.Length];
            _used = 0;
            _dropped = 0;
        }

        var result = new List<(string, string, long)>(used);
        for (var i = 0; i < titles.Length; i++)
        {
            if (titles[i] is { } title)
            {
                result.Add((title, renditions[i]!, counts[i]));
            }
        }

        return (result, dropped);
    }
}
