namespace OpenConnect.Appliance.Control;

/// <summary>
/// Merges the takedown lists of several steering replicas into the one list the appliance applies.
/// Each replica numbers its own list (its generation), so lists are kept per replica and the
/// appliance refuses every title any of them names: a takedown is in force as soon as one replica
/// has it, and lifted only when no replica lists it any more. Until every replica in use has sent
/// its list, the titles already in force stay (a fresh session does not lift what another replica,
/// not heard yet, still refuses). The merged generation is the sum of the replicas' generations, so
/// it moves whenever one of them does; with a single replica it is that replica's generation.
/// </summary>
public sealed class TakedownMerge
{
    private readonly Lock _lock = new();
    private readonly Dictionary<Uri, Received> _lists = [];
    private readonly HashSet<Uri> _expected = [];

    /// <summary>A replica is in use: until it sends its list, titles in force are kept.</summary>
    public void Expect(Uri replica)
    {
        lock (_lock)
        {
            _expected.Add(replica);
        }
    }

    /// <summary>A replica is no longer in use (gone from SRV): its list no longer counts.</summary>
    public void Forget(Uri replica)
    {
        lock (_lock)
        {
            _expected.Remove(replica);
            _lists.Remove(replica);
        }
    }

    /// <summary>
    /// Records <paramref name="replica"/>'s list and returns the merged list (generation and titles
    /// with their reasons) given the titles in force now (<paramref name="inForce"/>).
    /// </summary>
    public (ulong Generation, Dictionary<string, string> Titles) Offer(Uri replica, ulong generation, IReadOnlyDictionary<string, string> titles, IReadOnlyDictionary<string, string> inForce)
    {
        lock (_lock)
        {
            _lists[replica] = new Received(generation, new Dictionary<string, string>(titles, StringComparer.Ordinal));
            var merged = new Dictionary<string, string>(StringComparer.Ordinal);
            var sum = 0UL;
            foreach (var (_, list) in _lists.OrderBy(l => l.Key.ToString(), StringComparer.Ordinal))
            {
                sum += list.Generation;
                foreach (var (title, reason) in list.Titles)
                {
                    merged.TryAdd(title, reason);
                }
            }

            if (_expected.Any(r => !_lists.ContainsKey(r)))
            {
                foreach (var (title, reason) in inForce)
                {
                    merged.TryAdd(title, reason);
                }
            }

            return (sum, merged);
        }
    }

    private sealed record Received(ulong Generation, Dictionary<string, string> Titles);
}
