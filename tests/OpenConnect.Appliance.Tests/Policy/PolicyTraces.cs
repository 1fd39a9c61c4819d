using OpenConnect.Appliance.Caching.Policy;

namespace OpenConnect.Appliance.Tests.Policy;

/// <summary>Replays request lists through a policy the way the cache and the simulator do: Access, then Admit on a miss.</summary>
internal static class PolicyTraces
{
    public readonly record struct Outcome(int Hits, long HitBytes, List<ulong> Evicted);

    public static Outcome Replay(IEvictionPolicy policy, IReadOnlyList<(ulong Key, long Size)> requests, Action? afterEach = null)
    {
        var hits = 0;
        var hitBytes = 0L;
        var evicted = new List<ulong>();
        foreach (var (key, size) in requests)
        {
            if (policy.Access(key))
            {
                hits++;
                hitBytes += size;
            }
            else
            {
                policy.Admit(key, size, evicted);
            }

            afterEach?.Invoke();
        }

        return new Outcome(hits, hitBytes, evicted);
    }

    /// <summary>Parses "1 2 3" into unit-size requests.</summary>
    public static List<(ulong Key, long Size)> Unit(string keys)
    {
        var list = new List<(ulong, long)>();
        foreach (var k in keys.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            list.Add((ulong.Parse(k, System.Globalization.CultureInfo.InvariantCulture), 1));
        }

        return list;
    }

    /// <summary>Random requests over a skewed key space with sizes fixed per key; deterministic for a seed.</summary>
    public static List<(ulong Key, long Size)> Random(int seed, int requests, int keys, long maxSize)
    {
        var rng = new Random(seed);
        var sizes = new long[keys];
        for (var i = 0; i < keys; i++)
        {
            sizes[i] = maxSize == 1 ? 1 : 1 + rng.NextInt64(maxSize);
        }

        var list = new List<(ulong, long)>(requests);
        for (var i = 0; i < requests; i++)
        {
            // Squaring a uniform draw skews popularity toward low keys, so there is something to cache.
            var u = rng.NextDouble();
            var k = (int)(u * u * keys);
            list.Add(((ulong)k, sizes[k]));
        }

        return list;
    }
}
