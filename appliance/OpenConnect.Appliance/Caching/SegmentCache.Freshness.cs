using OpenConnect.Appliance.Upstream;

namespace OpenConnect.Appliance.Caching;

public sealed partial class SegmentCache
{
    /// <summary>
    /// Returns <paramref name="hit"/> while its object is fresh (immutable, or within its lifetime: one
    /// compare), else revalidates it with the parents. Every request for the stale object joins one
    /// conditional fetch (request collapsing): a 304 refreshes the copy and serves it; a 200 replaces it
    /// and the request follows the new body as a miss; a 404 or 410 drops the copy and is the answer; any
    /// other failure serves the stale copy for up to <c>Cache:StaleIfError</c> past its freshness.
    /// </summary>
    private async ValueTask<CacheLookup> FreshOrRevalidatedAsync(ulong key, string path, CacheLookup hit, CancellationToken cancellationToken)
    {
        var info = hit.Info!;
        if (!info.IsStaleAt(_time.GetUtcNow()))
        {
            return hit;
        }

        try
        {
            return await RevalidateAsync(key, path, hit, info, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            hit.Dispose();
            throw;
        }
    }

    private async ValueTask<CacheLookup> RevalidateAsync(ulong key, string path, CacheLookup hit, ObjectInfo info, CancellationToken cancellationToken)
    {
        var fetch = _fetcher.GetOrStart(key, path, _onFetched, out var join, revalidating: info);
        var (outcome, head) = await fetch.HeadTask.WaitAsync(cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        switch (outcome)
        {
            case FetchOutcome.NotModified when head!.ETag == info.ETag:
                info.Refresh(now, head.Lifetime ?? TimeSpan.Zero);
                return hit;
            case FetchOutcome.Ok:
                // A new version (or a plain miss for the key under way): the request follows that fetch.
                hit.Dispose();
                return CacheLookup.Miss(fetch, join);
            case FetchOutcome.NotFound or FetchOutcome.Gone:
                // The parent no longer has it: the stale copy must not outlive that.
                hit.Dispose();
                lock (_policyLock)
                {
                    DropReplacedLocked(key);
                }

                UpdateGauges();
                return CacheLookup.Miss(fetch, join);
            default:
                // A parent failure (or a 304 for another copy of the key): serve the stale copy within the bound.
                if (outcome == FetchOutcome.NotModified || now < info.FreshUntil + _staleIfError)
                {
                    return hit;
                }

                hit.Dispose();
                return CacheLookup.Miss(fetch, join);
        }
    }

    /// <summary>
    /// Drops the cached copies of a changeable object the parent replaced or removed, from both tiers. A
    /// pinned copy stays (fill owns it); requests revalidate it whenever it is stale.
    /// </summary>
    private void DropReplacedLocked(ulong key)
    {
        _ram.RemoveLocked(key);
        if (_ssd.IsOpen && !_pins.ContainsLocked(key))
        {
            _ssd.RemoveLocked(key);
        }
    }
}
