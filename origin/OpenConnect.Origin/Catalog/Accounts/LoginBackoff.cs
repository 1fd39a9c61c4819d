using Microsoft.Extensions.Options;

namespace OpenConnect.Origin.Catalog.Accounts;

/// <summary>
/// Per-account-name login back-off. Failures are counted per name (folded to lower case, as names
/// compare), whatever client sent them, so a guesser spread over many addresses is slowed as much
/// as one. From the <c>LoginBackoffFailures</c>-th failure on, the name is blocked for
/// <c>LoginBackoffBase</c> doubling with each further failure up to <c>LoginBackoffMax</c>; a blocked
/// login is answered without hashing. A success forgets the name, and so do four times
/// <c>LoginBackoffMax</c> without a failure. Names that do not exist are counted the same way, so
/// the answers do not tell which names exist. Kept in memory: a restart forgets it.
/// </summary>
public sealed class LoginBackoff
{
    /// <summary>Names tracked at most; when full, forgotten and unblocked names are dropped first.</summary>
    internal const int MaxNames = 100_000;

    private readonly Dictionary<string, Entry> _names = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly int _threshold;
    private readonly TimeSpan _base;
    private readonly TimeSpan _max;
    private readonly TimeSpan _forget;

    public LoginBackoff(IOptions<OriginOptions> options, TimeProvider time)
    {
        var catalog = options.Value.Catalog;
        _time = time;
        _threshold = catalog.LoginBackoffFailures;
        _base = catalog.LoginBackoffBase;
        _max = catalog.LoginBackoffMax;
        _forget = catalog.LoginBackoffMax * 4;
    }

    /// <summary>How long logins of <paramref name="name"/> are still blocked; zero when they may proceed.</summary>
    public TimeSpan Blocked(string name)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            return _names.TryGetValue(Key(name), out var entry) && entry.BlockedUntil > now ? entry.BlockedUntil - now : TimeSpan.Zero;
        }
    }

    /// <summary>
    /// Counts a failed login; returns how long the name is now blocked (zero below the threshold) and
    /// whether this failure started the back-off (reached the threshold).
    /// </summary>
    public (TimeSpan Blocked, bool Started) Failed(string name)
    {
        var now = _time.GetUtcNow();
        var key = Key(name);
        lock (_lock)
        {
            if (!_names.TryGetValue(key, out var entry) || now - entry.LastFailure > _forget)
            {
                if (_names.Count >= MaxNames && !_names.ContainsKey(key))
                {
                    Prune(now);
                }

                entry = new Entry();
            }

            entry.Failures++;
            entry.LastFailure = now;
            if (entry.Failures >= _threshold)
            {
                entry.BlockedUntil = now + Delay(entry.Failures - _threshold, _base, _max);
            }

            _names[key] = entry;
            return (entry.BlockedUntil > now ? entry.BlockedUntil - now : TimeSpan.Zero, entry.Failures == _threshold);
        }
    }

    /// <summary>A successful login: the name starts again from no failures.</summary>
    public void Succeeded(string name)
    {
        lock (_lock)
        {
            _names.Remove(Key(name));
        }
    }

    /// <summary>The block after <paramref name="excess"/> failures beyond the threshold: base × 2^excess, at most max.</summary>
    public static TimeSpan Delay(int excess, TimeSpan initial, TimeSpan max) =>
        excess >= 30 || initial * (1L << excess) >= max ? max : initial * (1L << excess);

    private static string Key(string name) => name.ToLowerInvariant();

    private void Prune(DateTimeOffset now)
    {
        List<string> drop = [];
        foreach (var (key, entry) in _names)
        {
            if (entry.BlockedUntil <= now)
            {
                drop.Add(key);
            }
        }

        foreach (var key in drop)
        {
            _names.Remove(key);
        }
    }

    private sealed class Entry
    {
        public int Failures;
        public DateTimeOffset LastFailure;
        public DateTimeOffset BlockedUntil;
    }
}
