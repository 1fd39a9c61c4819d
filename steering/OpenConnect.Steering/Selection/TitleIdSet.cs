using System.Numerics;

namespace OpenConnect.Steering.Selection;

/// <summary>
/// The titles one appliance holds, as the registry's interned title ids (<see cref="ControlPlane.ApplianceRegistry"/>)
/// in an open-addressing table: the holding test of a decision is a multiply, a shift and usually one
/// cache line, where a set of strings hashes the title again and follows three references per appliance.
/// Immutable once built; a heartbeat that changes the inventory builds a new one. A struct, so a
/// status or a <see cref="SiteMember"/> holds the table itself rather than a reference to one more object.
/// </summary>
public readonly struct TitleIdSet
{
    private const int Empty = -1;

    public static readonly TitleIdSet None = new([]);

    private readonly int[] _slots;
    private readonly int _shift;

    /// <summary>Builds the set of <paramref name="ids"/> (non-negative; duplicates are kept once).</summary>
    public TitleIdSet(IReadOnlyCollection<int> ids)
    {
        // At most two thirds full, so a miss ends after a short run of probes.
        var size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(4, ids.Count + (ids.Count / 2) + 1));
        _shift = 32 - BitOperations.Log2((uint)size);
        _slots = new int[size];
        Array.Fill(_slots, Empty);
        var count = 0;
        foreach (var id in ids)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(id);
            var mask = _slots.Length - 1;
            var slot = Home(id);
            while (_slots[slot] != Empty && _slots[slot] != id)
            {
                slot = (slot + 1) & mask;
            }

            if (_slots[slot] == Empty)
            {
                _slots[slot] = id;
                count++;
            }
        }

        Count = count;
    }

    public int Count { get; }

    /// <summary>True when the set holds <paramref name="id"/> (false for a negative id: a title no appliance holds).</summary>
    public bool Contains(int id)
    {
        var slots = _slots;
        if (id < 0 || slots is null)
        {
            return false;
        }

        var mask = slots.Length - 1;
        var slot = Home(id);
        while (true)
        {
            var value = slots[slot];
            if (value == id)
            {
                return true;
            }

            if (value == Empty)
            {
                return false;
            }

            slot = (slot + 1) & mask;
        }
    }

    // Fibonacci hashing: ids are dense small integers, the multiply spreads them over the table.
    private int Home(int id) => (int)(((uint)id * 0x9E3779B9u) >> _shift);
}
