using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace OpenConnect.Origin.Protection;

/// <summary>
/// A token bucket per client for the license endpoint (<c>Origin:Protection:LicenseRequestsPerSecond</c>
/// and <c>LicenseRequestBurst</c>). A client is its IPv4 address, or its IPv6 /64: a host usually
/// holds a whole /64 and could otherwise take a fresh bucket per address. Idle buckets are dropped by
/// the partitioned limiter.
/// </summary>
public sealed class LicenseRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<IPAddress> _clients;

    public LicenseRateLimiter(IOptions<OriginOptions> options)
    {
        var o = options.Value.Protection;
        _clients = PartitionedRateLimiter.Create<IPAddress, IPAddress>(address =>
            RateLimitPartition.GetTokenBucketLimiter(address, _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = o.LicenseRequestBurst,
                TokensPerPeriod = o.LicenseRequestsPerSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
    }

    /// <summary>Takes a token for <paramref name="client"/>; false (with when to retry, at least 1 s) when its bucket is empty.</summary>
    public bool TryAcquire(IPAddress? client, out TimeSpan retryAfter)
    {
        using var lease = _clients.AttemptAcquire(PartitionOf(client));
        if (lease.IsAcquired)
        {
            retryAfter = TimeSpan.Zero;
            return true;
        }

        retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) && after > TimeSpan.FromSeconds(1) ? after : TimeSpan.FromSeconds(1);
        return false;
    }

    public void Dispose() => _clients.Dispose();

    /// <summary>The bucket a client address draws from: the IPv4 address, or the IPv6 address cut to its /64.</summary>
    public static IPAddress PartitionOf(IPAddress? client)
    {
        if (client is null)
        {
            return IPAddress.None;
        }

        if (client.IsIPv4MappedToIPv6)
        {
            return client.MapToIPv4();
        }

        if (client.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            return client;
        }

        Span<byte> bytes = stackalloc byte[16];
        client.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes);
    }
}
