using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace OpenConnect.Steering.Play;

/// <summary>
/// A token bucket per client for <c>/play/{title}</c>: <see cref="SteeringOptions.PlayRateLimitPerSecond"/>
/// tokens a second up to <see cref="SteeringOptions.PlayRateLimitBurst"/>, one per play. A client is
/// one IPv4 address, or one IPv6 /64 (a subscriber gets at least a /64, so its addresses share a
/// bucket). Time comes from <see cref="TimeProvider"/>.
/// </summary>
/// <remarks>
/// Bounded to <see cref="SteeringOptions.PlayRateLimitClients"/> buckets: when a new client finds
/// the table full, buckets that have refilled (idle clients) are dropped; if that frees less than a
/// quarter of the table, every bucket is dropped (each client starts again with a full burst). A
/// flood of distinct addresses can therefore reset the limit, never lock out a client.
/// </remarks>
public sealed class PlayRateLimiter
{
    private readonly ConcurrentDictionary<UInt128, Bucket> _buckets = new();
    private readonly TimeProvider _time;
    private readonly double _perSecond;
    private readonly double _burst;
    private readonly int _maxClients;
    private readonly Lock _sweep = new();
    private int _count;

    public PlayRateLimiter(TimeProvider time, double perSecond, int burst, int maxClients)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(perSecond);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(burst);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxClients);
        _time = time;
        _perSecond = perSecond;
        _burst = burst;
        _maxClients = maxClients;
    }

    /// <summary>Clients holding a bucket.</summary>
    public int Clients => Volatile.Read(ref _count);

    /// <summary>Takes a token for <paramref name="client"/>; when there is none, how long until there is one (at least 1 s).</summary>
    public bool TryAcquire(IPAddress? client, out TimeSpan retryAfter)
    {
        var key = KeyOf(client);
        var now = _time.GetTimestamp();
        if (!_buckets.TryGetValue(key, out var bucket))
        {
            if (Volatile.Read(ref _count) >= _maxClients)
            {
                Sweep(now);
            }

            var fresh = new Bucket(_burst, now);
            bucket = _buckets.GetOrAdd(key, fresh);
            if (ReferenceEquals(bucket, fresh))
            {
                Interlocked.Increment(ref _count);
            }
        }

        lock (bucket)
        {
            Refill(bucket, now);
            if (bucket.Tokens >= 1)
            {
                bucket.Tokens -= 1;
                retryAfter = TimeSpan.Zero;
                return true;
            }

            retryAfter = TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling((1 - bucket.Tokens) / _perSecond)));
            return false;
        }
    }

    /// <summary>The bucket key: an IPv4 address, or the /64 of an IPv6 one (IPv4-mapped addresses count as IPv4).</summary>
    public static UInt128 KeyOf(IPAddress? client)
    {
        if (client is null)
        {
            return UInt128.MaxValue;
        }

        if (client.IsIPv4MappedToIPv6)
        {
            client = client.MapToIPv4();
        }

        Span<byte> bytes = stackalloc byte[16];
        client.TryWriteBytes(bytes, out _);
        if (client.AddressFamily == AddressFamily.InterNetwork)
        {
            // Above every IPv6 /64 key (those use the high 64 bits only), so the two never collide.
            return new UInt128(1, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes));
        }

        return new UInt128(0, System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes));
    }

    private void Refill(Bucket bucket, long now)
    {
        // A thread that read the clock earlier may come second: never move the stamp backwards.
        if (now > bucket.Stamp)
        {
            bucket.Tokens = Math.Min(_burst, bucket.Tokens + (_time.GetElapsedTime(bucket.Stamp, now).TotalSeconds * _perSecond));
            bucket.Stamp = now;
        }
    }

    private void Sweep(long now)
    {
        lock (_sweep)
        {
            if (Volatile.Read(ref _count) < _maxClients)
            {
                return;
            }

            var removed = 0;
            foreach (var (key, bucket) in _buckets)
            {
                bool full;
                lock (bucket)
                {
                    Refill(bucket, now);
                    full = bucket.Tokens >= _burst;
                }

                if (full && _buckets.TryRemove(key, out _))
                {
                    Interlocked.Decrement(ref _count);
                    removed++;
                }
            }

            if (removed < _maxClients / 4)
            {
                _buckets.Clear();
                Volatile.Write(ref _count, 0);
            }
        }
    }

    private sealed class Bucket(double tokens, long stamp)
    {
        public double Tokens = tokens;
        public long Stamp = stamp;
    }
}
