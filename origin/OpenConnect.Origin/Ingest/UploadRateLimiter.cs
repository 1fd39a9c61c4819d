using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace OpenConnect.Origin.Ingest;

/// <summary>
/// Token buckets for <c>/files/</c>, one per client address and one per uploader: every request
/// takes a token from its address's bucket before anything else is done, and one from its
/// uploader's (the token's user on creation, the upload's owner afterwards) once that is known, so
/// neither many users behind one address nor one user on many addresses get past them. Idle
/// buckets are dropped by the partitioned limiters. The catalog's limiter is a policy on its route
/// group; this one lives in the endpoint because the uploader of a PATCH is only known from the
/// upload it names.
/// </summary>
public sealed class UploadRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<IPAddress> _addresses;
    private readonly PartitionedRateLimiter<string> _uploaders;

    public UploadRateLimiter(IOptions<OriginOptions> options)
    {
        var o = options.Value.Ingest;
        _addresses = PartitionedRateLimiter.Create<IPAddress, IPAddress>(address =>
            RateLimitPartition.GetTokenBucketLimiter(address, _ => Bucket(o.RequestsPerSecondPerAddress, o.RequestBurstPerAddress)));
        _uploaders = PartitionedRateLimiter.Create<string, string>(uploader =>
            RateLimitPartition.GetTokenBucketLimiter(uploader, _ => Bucket(o.RequestsPerSecondPerUploader, o.RequestBurstPerUploader)), StringComparer.Ordinal);
    }

    /// <summary>Takes a token for the request's client address; false (with when to retry) when its bucket is empty.</summary>
    public bool TryAcquireAddress(HttpContext context, out TimeSpan retryAfter) =>
        TryAcquire(_addresses, context.Connection.RemoteIpAddress ?? IPAddress.None, out retryAfter);

    /// <summary>Takes a token for the uploader; false (with when to retry) when their bucket is empty.</summary>
    public bool TryAcquireUploader(string uploaderId, out TimeSpan retryAfter) =>
        TryAcquire(_uploaders, uploaderId, out retryAfter);

    public void Dispose()
    {
        _addresses.Dispose();
        _uploaders.Dispose();
    }

    private static bool TryAcquire<TKey>(PartitionedRateLimiter<TKey> limiter, TKey key, out TimeSpan retryAfter)
    {
        using var lease = limiter.AttemptAcquire(key);
        if (lease.IsAcquired)
        {
            retryAfter = TimeSpan.Zero;
            return true;
        }

        retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) && after > TimeSpan.FromSeconds(1) ? after : TimeSpan.FromSeconds(1);
        return false;
    }

    private static TokenBucketRateLimiterOptions Bucket(int perSecond, int burst) => new()
    {
        TokenLimit = burst,
        TokensPerPeriod = perSecond,
        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
        QueueLimit = 0,
        AutoReplenishment = true,
    };
}
