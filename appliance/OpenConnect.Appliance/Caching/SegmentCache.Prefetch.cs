using OpenConnect.Appliance.Upstream;
using OpenConnect.Contracts.Content;

namespace OpenConnect.Appliance.Caching;

/// <summary>The outcome of bringing one object into the SSD tier for a fill.</summary>
public readonly record struct PrefetchResult(bool Ok, bool AlreadyHeld, long BytesFetched, string? Error);

public sealed partial class SegmentCache
{
    /// <summary>
    /// Brings <paramref name="path"/> onto the SSD tier (fill): an object already there is kept and
    /// counted as held; otherwise it is pulled through the parents (joining any fetch under way,
    /// verified against the integrity manifest) and written to SSD directly, skipping probation:
    /// the fill controller already decided it is wanted.
    /// </summary>
    public async Task<PrefetchResult> PrefetchAsync(ulong key, string path, CancellationToken cancellationToken)
    {
        if (_store.TryOpen(key, path, out var existing))
        {
            var length = existing.BodyLength;
            existing.Dispose();
            RestoreInSsdPolicy(key, length);
            return new PrefetchResult(true, true, 0, null);
        }

        var fetch = _fetcher.GetOrStart(key, path, _onFetched);
        var (outcome, head) = await fetch.HeadTask.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (outcome != FetchOutcome.Ok)
        {
            return new PrefetchResult(false, false, 0, outcome switch
            {
                FetchOutcome.NotFound => "not found at any parent",
                FetchOutcome.GatewayTimeout => "parents timed out",
                FetchOutcome.TooLarge => "larger than Appliance:Upstream:MaxObjectBytes",
                _ => "no parent could provide it",
            });
        }

        if (!await fetch.Completed.WaitAsync(cancellationToken).ConfigureAwait(false))
        {
            return new PrefetchResult(false, false, fetch.Filled, "transfer failed or did not match the integrity manifest");
        }

        var info = new ObjectInfo(path, head!.Length, head.ETag, head.LastModified, head.ContentType, ContentTypes.CacheControlFor(path));
        RestoreInSsdPolicy(key, head.Length);
        if (_pendingSsdWrites.TryGetValue(key, out var underWay))
        {
            // A client's miss is writing the same object; wait for it rather than write twice.
            await underWay.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        if (!_store.TryOpen(key, path, out var written))
        {
            await WriteToSsdAsync(key, info, fetch.Body, fetch.VerifiedSha256).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (!_store.TryOpen(key, path, out written))
            {
                return new PrefetchResult(false, false, head.Length, "the SSD tier could not store it (see cache errors)");
            }
        }

        written.Dispose();
        return new PrefetchResult(true, false, head.Length, null);
    }

    private void RestoreInSsdPolicy(ulong key, long length)
    {
        lock (_policyLock)
        {
            if (_pins.Contains(key))
            {
                return;
            }

            ReturnToSsdPolicy(key, length);
            DropSsdEvictions();
        }
    }
}
