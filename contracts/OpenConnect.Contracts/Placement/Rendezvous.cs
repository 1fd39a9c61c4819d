using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace OpenConnect.Contracts.Placement;

/// <summary>
/// Weighted rendezvous (highest-random-weight) hashing: every (title, appliance) pair gets a
/// pseudo-random score and a title goes to the appliances with the highest scores. Removing an
/// appliance moves only the titles it ranked first on; weighting by capacity gives a bigger
/// appliance a proportionally bigger share of titles.
/// </summary>
public static class Rendezvous
{
    public static ulong HashId(string id) => XxHash64.HashToUInt64(MemoryMarshal.AsBytes(id.AsSpan()), seed: 0x0c0ffee);

    public static ulong HashTitle(string title) => XxHash64.HashToUInt64(MemoryMarshal.AsBytes(title.AsSpan()), seed: 0x7171e);

    /// <summary>The score of an appliance (by id hash and capacity weight) for a title (by hash).</summary>
    public static double Score(ulong titleHash, ulong idHash, long weight)
    {
        // A 64-bit finalizer (splitmix64) over the pair, mapped to (0, 1), then the weighted form
        // -w / ln(u): the highest score wins with probability proportional to w.
        var x = titleHash ^ (idHash * 0x9E3779B97F4A7C15UL);
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        x ^= x >> 31;
        var u = ((x >> 11) + 0.5) * (1.0 / (1UL << 53));
        return -Math.Max(weight, 1) / Math.Log(u);
    }
}
