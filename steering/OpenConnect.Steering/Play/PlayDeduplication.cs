using System.Buffers;
using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;

namespace OpenConnect.Steering.Play;

/// <summary>What <see cref="PlayDeduplication.Check"/> decided for one play.</summary>
public enum PlayCount
{
    /// <summary>The first play of the title from this client prefix today: counted.</summary>
    First,

    /// <summary>The prefix already played the title today: served, not counted.</summary>
    Repeat,

    /// <summary>Today's set is full and the pair is not in it: served, not counted.</summary>
    Full,
}

/// <summary>
/// Lets a play count toward popularity at most once per (client prefix, title) per UTC day, the
/// prefix being the /24 (IPv4) or /48 (IPv6) tokens are bound to. Keeps today's pairs only, as
/// 64-bit hashes (XxHash3 with a seed drawn at start, so no one can aim collisions at another
/// network's plays), at most <see cref="SteeringOptions.MaxDailyPlayPairs"/> of them.
/// </summary>
/// <remarks>
/// At the cap, plays of pairs not yet seen are not counted until the next UTC day (counted in
/// <see cref="Uncounted"/> instead): a flood of distinct prefixes can hide a day's popularity but
/// never inflate it. A 64-bit hash at a million pairs confuses two pairs with a chance of about
/// 3·10⁻⁸ a day.
/// </remarks>
public sealed class PlayDeduplication(TimeProvider time, int maxPairs)
{
    private readonly long _seed = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(8));
    private readonly Lock _lock = new();
    private HashSet<ulong> _today = [];
    private DateOnly _day;
    private long _repeats;
    private long _uncounted;

    /// <summary>Plays not counted because their prefix had played the title that day.</summary>
    public long Repeats => Interlocked.Read(ref _repeats);

    /// <summary>Plays not counted because the day's set was full.</summary>
    public long Uncounted => Interlocked.Read(ref _uncounted);

    /// <summary>Pairs held for today.</summary>
    public int Pairs
    {
        get
        {
            lock (_lock)
            {
                return _today.Count;
            }
        }
    }

    /// <summary>Records a play of <paramref name="title"/> from <paramref name="clientPrefix"/> and says whether it counts.</summary>
    public PlayCount Check(string clientPrefix, string title)
    {
        var hash = Hash(clientPrefix, title);
        var day = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        lock (_lock)
        {
            if (day != _day)
            {
                // Only today matters: a new day starts an empty set (and returns yesterday's memory).
                _day = day;
                _today = [];
            }

            if (_today.Contains(hash))
            {
                _repeats++;
                return PlayCount.Repeat;
            }

            if (_today.Count >= maxPairs)
            {
                _uncounted++;
                return PlayCount.Full;
            }

            _today.Add(hash);
            return PlayCount.First;
        }
    }

    private ulong Hash(string clientPrefix, string title)
    {
        // Prefix and title are ASCII (an address and [A-Za-z0-9_-]); a 0 byte separates them.
        var length = Encoding.UTF8.GetMaxByteCount(clientPrefix.Length + title.Length) + 1;
        var rented = length <= 512 ? null : ArrayPool<byte>.Shared.Rent(length);
        Span<byte> buffer = rented ?? stackalloc byte[512];
        var written = Encoding.UTF8.GetBytes(clientPrefix, buffer);
        buffer[written++] = 0;
        written += Encoding.UTF8.GetBytes(title, buffer[written..]);
        var hash = XxHash3.HashToUInt64(buffer[..written], _seed);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        return hash;
    }
}
