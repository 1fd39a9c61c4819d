using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Content;
using OpenConnect.Hosting.Tracing;

namespace OpenConnect.Appliance.Upstream;

/// <summary>
/// Pull-through on a miss: asks the parents in order (peer appliances in the site, then the
/// origin), each with a connect, header and idle-read timeout, and moves on when one fails (an
/// <c>https://</c> parent is pulled with fleet certificates both ways, <see cref="ParentTls"/>). Every
/// concurrent miss for the same object joins one fetch (request collapsing), and short-lived
/// negative entries stop a burst of requests for a missing object from reaching the origin.
/// </summary>
public sealed class ParentFetcher : IDisposable
{
    private readonly ConcurrentDictionary<ulong, InflightObject> _inflight = new();
    private readonly NotFoundCache _notFound;
    private readonly Lock _admissionLock = new();
    private readonly Dictionary<string, int> _fetchesPerTitle = new(StringComparer.Ordinal);
    private int _fetches;
    private readonly HttpMessageInvoker _http;
    private readonly UpstreamOptions _options;
    private readonly TimeSpan _playlistTtl;
    private readonly Uri[] _configuredParents;
    private volatile Uri[] _parents;
    private readonly TimeProvider _time;
    private readonly ApplianceMetrics _metrics;
    private readonly ILogger<ParentFetcher> _logger;

    private const int MaxSuspects = 4096;

    private readonly IntegrityCatalog _integrity;
    private readonly ConcurrentDictionary<ulong, DateTimeOffset> _suspects = new();

    public ParentFetcher(IOptions<ApplianceOptions> options, ParentTls tls, IntegrityKeys integrityKeys, TimeProvider time, ApplianceMetrics metrics, ILogger<ParentFetcher> logger)
    {
        _options = options.Value.Upstream;
        _playlistTtl = options.Value.Cache.PlaylistTtl;
        _configuredParents = [.. options.Value.Parents.Select(p => new Uri(p.TrimEnd('/') + "/"))];
        _parents = _configuredParents;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _notFound = new NotFoundCache(_options.NotFoundTtl, _options.NotFoundMaxEntries, _options.NotFoundMaxBytes, time);
        Takedowns = new TakedownSet(Path.Combine(options.Value.Cache.Directory, TakedownSet.FileName));
        _http = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            ConnectTimeout = _options.ConnectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            MaxConnectionsPerServer = _options.MaxConnectionsPerParent,
            // https:// parents: the appliance's fleet certificate both ways (cleartext http:// parents are unaffected).
            SslOptions = tls.ClientOptions(),
        });
        // Manifests come from the same parents, through the same connection pools.
        _integrity = new IntegrityCatalog(!_options.AllowUnsignedContent, _options.NotFoundTtl, () => integrityKeys.Current, time, logger, GetSmallAsync);
        if (_options.AllowUnsignedContent)
        {
            UpstreamLog.UnsignedContentAllowed(_logger, _options.IntegrityKeys.Count);
        }
    }

    /// <summary>The parents tried in order: the configured ones, then the origin found through DNS SRV (if any).</summary>
    public IReadOnlyList<Uri> Parents => _parents;

    /// <summary>
    /// Sets the origin found through DNS SRV; it is tried after the configured parents (or replaces
    /// one of them with the same authority). Null removes it.
    /// </summary>
    public void SetDiscoveredOrigin(Uri? origin)
    {
        if (origin is null)
        {
            _parents = _configuredParents;
            return;
        }

        var normalized = new Uri(origin.GetLeftPart(UriPartial.Authority) + "/");
        _parents = _configuredParents.Any(p => Uri.Compare(p, normalized, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0)
            ? _configuredParents
            : [.. _configuredParents, normalized];
    }

    /// <summary>
    /// GETs a small object (a manifest) from the parents in order: the first 200 whose body
    /// <paramref name="accept"/> takes wins (a peer serving a bad one does not hide the origin's); else
    /// the last body refused, so the caller can say why; 404 only when the last parent (the authority)
    /// said so; any other failure is 502 (the caller retries soon).
    /// </summary>
    private async Task<(int Status, byte[]? Body)> GetSmallAsync(string path, int maxBytes, Func<byte[], bool> accept, CancellationToken cancellationToken)
    {
        var lastWasNotFound = false;
        byte[]? refused = null;
        foreach (var parent in _parents)
        {
            lastWasNotFound = false;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(_options.HeaderTimeout + _options.IdleReadTimeout);
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(parent, path.TrimStart('/')));
                using var response = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    lastWasNotFound = true;
                    continue;
                }

                if (response.StatusCode == HttpStatusCode.OK && response.Content.Headers.ContentLength is { } length && length <= maxBytes)
                {
                    var body = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
                    if (body.LongLength == length && accept(body))
                    {
                        return (200, body);
                    }

                    refused = body;
                    continue;
                }

                UpstreamLog.ParentFailed(_logger, parent.Authority, path, $"status {(int)response.StatusCode}, {response.Content.Headers.ContentLength?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no"} Content-Length");
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
            {
                UpstreamLog.ParentFailed(_logger, parent.Authority, path, ex.Message);
            }
        }

        return refused is not null ? (200, refused) : (lastWasNotFound ? 404 : 502, null);
    }

    /// <summary>The parents' 404s remembered for <c>Upstream:NotFoundTtl</c>, bounded by count and bytes.</summary>
    public NotFoundCache NotFound => _notFound;

    /// <summary>The titles taken down at the origin: no fetch starts for them, a lookup answers 410.</summary>
    public TakedownSet Takedowns { get; }

    /// <summary>Fetches under way (each object once, however many requests joined it).</summary>
    public int FetchesInFlight => Volatile.Read(ref _fetches);

    /// <summary>
    /// Returns the fetch for <paramref name="key"/>, starting it if none is under way. When a fetch
    /// completes successfully <paramref name="onComplete"/> runs once (the cache admits the body).
    /// <paramref name="join"/> tells how: a new fetch, one already under way (collapsed), a 404 the
    /// not-found cache remembers, or refused because too many fetches are under way (overall, or for
    /// the object's title): joining a fetch is always allowed, starting one for a not-yet-known object is
    /// what the caps bound, so a flood of unique missing names cannot become one parent request each.
    /// <paramref name="revalidating"/>: the stale cached copy a new fetch asks the parents about
    /// conditionally (<see cref="InflightObject.Revalidating"/>); requests for it join the same fetch.
    /// </summary>
    public InflightObject GetOrStart(ulong key, string path, Action<InflightObject> onComplete, out FetchJoin join, Caching.ObjectInfo? revalidating = null)
    {
        if (Takedowns.Holds(path))
        {
            join = FetchJoin.TakenDown;
            return Gone(key, path);
        }

        if (_notFound.IsNotFound(key, path))
        {
            var cached = new InflightObject(key, path);
            cached.Fail(FetchOutcome.NotFound);
            _metrics.NegativeHits.Inc();
            join = FetchJoin.NotFoundCached;
            return cached;
        }

        while (true)
        {
            if (_inflight.TryGetValue(key, out var existing))
            {
                if ((existing.Head is not null && existing.Completed.IsCompletedSuccessfully && !existing.Completed.Result)
                    || (revalidating is null && existing.HeadTask.IsCompletedSuccessfully && existing.HeadTask.Result.Outcome == FetchOutcome.NotModified))
                {
                    // Its body already failed (cut part-way or refused by the integrity check), or it was a
                    // revalidation that ended in a 304 (no body for a request without a cached copy), and it is on
                    // its way out of the table: a request arriving now starts a fresh fetch instead of sharing
                    // that outcome.
                    _inflight.TryRemove(new KeyValuePair<ulong, InflightObject>(key, existing));
                    continue;
                }

                _metrics.CollapsedRequests.Inc();
                join = FetchJoin.Collapsed;
                return existing;
            }

            var title = TitleOf(path);
            if (!TryAdmitFetch(title))
            {
                var refused = new InflightObject(key, path);
                refused.Fail(FetchOutcome.Overloaded);
                _metrics.FetchesRefused.Inc();
                join = FetchJoin.Refused;
                return refused;
            }

            var fetch = new InflightObject(key, path) { Revalidating = revalidating };
            if (_inflight.TryAdd(key, fetch))
            {
                _ = RunAsync(fetch, title, onComplete);
                join = FetchJoin.Started;
                return fetch;
            }

            EndFetch(title);
        }
    }

    /// <summary>A fetch that never starts: the title is taken down.</summary>
    public static InflightObject Gone(ulong key, string path)
    {
        var gone = new InflightObject(key, path);
        gone.Fail(FetchOutcome.Gone);
        return gone;
    }

    /// <summary>Returns the fetch for <paramref name="key"/>, starting it if none is under way (see the overload).</summary>
    public InflightObject GetOrStart(ulong key, string path, Action<InflightObject> onComplete) => GetOrStart(key, path, onComplete, out _);

    private static string TitleOf(string path) => ContentKey.TryParse(path, out var key) ? key.TitleId : "";

    /// <summary>Takes a place for a new fetch under <c>Upstream:MaxConcurrentFetches</c> and the per-title cap.</summary>
    private bool TryAdmitFetch(string title)
    {
        lock (_admissionLock)
        {
            var forTitle = _fetchesPerTitle.GetValueOrDefault(title);
            if (_fetches >= _options.MaxConcurrentFetches || forTitle >= _options.MaxConcurrentFetchesPerTitle)
            {
                return false;
            }

            _fetches++;
            _fetchesPerTitle[title] = forTitle + 1;
            return true;
        }
    }

    private void EndFetch(string title)
    {
        lock (_admissionLock)
        {
            _fetches--;
            var left = _fetchesPerTitle[title] - 1;
            if (left == 0)
            {
                _fetchesPerTitle.Remove(title);
            }
            else
            {
                _fetchesPerTitle[title] = left;
            }
        }
    }

    private async Task RunAsync(InflightObject fetch, string title, Action<InflightObject> onComplete)
    {
        // Tracing on: the fetch is a child of the request that started it, and its HTTP calls carry
        // the trace to the parents (traceparent); requests that join it later are not linked.
        using var activity = RoleTracing.Source.StartActivity("appliance parent fetch");
        activity?.SetTag("url.path", fetch.Path);
        try
        {
            await FetchAsync(fetch).ConfigureAwait(false);
            if (activity is not null)
            {
                TraceOutcome(activity, fetch);
            }

            if (await fetch.Completed.ConfigureAwait(false))
            {
                onComplete(fetch);
            }
        }
        catch (Exception ex)
        {
            UpstreamLog.FetchCrashed(_logger, fetch.Path, ex);
            fetch.Fail(FetchOutcome.BadGateway);
        }
        finally
        {
            _inflight.TryRemove(new KeyValuePair<ulong, InflightObject>(fetch.Key, fetch));
            EndFetch(title);
        }
    }

    private static void TraceOutcome(Activity activity, InflightObject fetch)
    {
        if (!fetch.HeadTask.IsCompletedSuccessfully)
        {
            return;
        }

        var (outcome, head) = fetch.HeadTask.Result;
        activity.SetTag("openconnect.fetch.outcome", outcome.ToString());
        activity.SetTag("openconnect.parent", head?.Parent);
        if (outcome is not (FetchOutcome.Ok or FetchOutcome.NotFound))
        {
            activity.SetStatus(ActivityStatusCode.Error);
        }
    }

    private async Task FetchAsync(InflightObject fetch)
    {
        var parents = _parents;
        if (parents.Length == 0 || !ContentKey.TryParse(fetch.Path, out var key))
        {
            fetch.Fail(FetchOutcome.BadGateway);
            return;
        }

        // The title's manifest is looked up while the first parent is asked: a miss pays one round trip, not two.
        var verdict = _integrity.CheckAsync(key, CancellationToken.None);
        var storeAndForward = IntegrityCatalog.IsManifest(key) || IsSuspect(fetch.Key);
        var notFound = 0;
        var lastFailure = FetchOutcome.BadGateway;
        var lastWasNotFound = false;
        IntegrityVerdict? refusal = null;
        foreach (var parent in parents)
        {
            _metrics.UpstreamFetches.WithLabels(parent.Authority).Inc();
            var attempt = await TryParentAsync(parent, fetch, key, verdict, storeAndForward).ConfigureAwait(false);
            switch (attempt.Outcome)
            {
                case FetchOutcome.Ok or FetchOutcome.NotModified:
                    return;
                case FetchOutcome.NotFound:
                    notFound++;
                    lastWasNotFound = true;
                    break;
                case FetchOutcome.TooLarge:
                    fetch.Fail(FetchOutcome.TooLarge);
                    return;
                case FetchOutcome.Gone:
                    // A parent says the title was taken down; steering's list follows within a heartbeat.
                    fetch.Fail(FetchOutcome.Gone);
                    return;
                case FetchOutcome.IntegrityRefused when attempt.TitleWide:
                    // The title's manifest refuses the object: no parent can change that.
                    CountRefusal(attempt.Refusal!, fetch.Path, parent);
                    fetch.Refuse(attempt.Refusal!);
                    return;
                case FetchOutcome.IntegrityRefused:
                    // This parent's copy is wrong; another parent (the origin after a peer) may have the right one.
                    CountRefusal(attempt.Refusal!, fetch.Path, parent);
                    refusal = attempt.Refusal;
                    lastWasNotFound = false;
                    _metrics.UpstreamFailures.WithLabels(parent.Authority).Inc();
                    break;
                default:
                    lastFailure = attempt.Outcome;
                    lastWasNotFound = false;
                    _metrics.UpstreamFailures.WithLabels(parent.Authority).Inc();
                    break;
            }

            if (fetch.Head is not null)
            {
                // The body failed part-way: clients already have bytes of it, so no other parent can help them.
                fetch.Complete(false);
                return;
            }
        }

        // The last parent is the authority (the origin): its 404 stands even if a peer failed.
        if (lastWasNotFound || notFound == parents.Length)
        {
            _notFound.Add(fetch.Key, fetch.Path);
            fetch.Fail(FetchOutcome.NotFound);
            return;
        }

        if (refusal is not null)
        {
            fetch.Refuse(refusal);
            return;
        }

        fetch.Fail(lastFailure);
    }

    /// <summary>One parent's answer: its outcome and, when the integrity check refused it, why and whether for the whole title.</summary>
    private readonly record struct Attempt(FetchOutcome Outcome, IntegrityVerdict? Refusal = null, bool TitleWide = false);

    private async Task<Attempt> TryParentAsync(Uri parent, InflightObject fetch, ContentKey key, Task<IntegrityVerdict> verdictTask, bool storeAndForward)
    {
        using var headerTimeout = new CancellationTokenSource(_options.HeaderTimeout);
        HttpResponseMessage response;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(parent, fetch.Path.TrimStart('/')));
            request.Headers.TryAddWithoutValidation("Via", "1.1 openconnect-appliance");
            if (fetch.Revalidating is { } stale)
            {
                AddValidators(request, stale);
            }
            response = await _http.SendAsync(request, headerTimeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            UpstreamLog.ParentFailed(_logger, parent.Authority, fetch.Path, ex.Message);
            return new(headerTimeout.IsCancellationRequested || ex.InnerException is TimeoutException ? FetchOutcome.GatewayTimeout : FetchOutcome.BadGateway);
        }

        using (response)
        {
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return new(FetchOutcome.NotFound);
            }

            if (response.StatusCode == HttpStatusCode.Gone)
            {
                return new(FetchOutcome.Gone);
            }

            var parentCacheControl = response.Headers.CacheControl?.ToString();
            if (response.StatusCode == HttpStatusCode.NotModified && fetch.Revalidating is { } current)
            {
                // The parent's copy is ours: only the freshness moves on (its Cache-Control, else the playlist TTL).
                var lifetime = Caching.FreshnessRule.LifetimeFor(fetch.Path, parentCacheControl, _playlistTtl) ?? current.Lifetime;
                fetch.NotModified(new UpstreamHead(current.Length, current.ContentType, current.ETag, current.LastModified, parent.Authority, lifetime));
                return new(FetchOutcome.NotModified);
            }

            if (response.StatusCode != HttpStatusCode.OK)
            {
                UpstreamLog.ParentFailed(_logger, parent.Authority, fetch.Path, $"status {(int)response.StatusCode}");
                return new(FetchOutcome.BadGateway);
            }

            var length = response.Content.Headers.ContentLength;
            if (length is null)
            {
                UpstreamLog.ParentFailed(_logger, parent.Authority, fetch.Path, "no Content-Length");
                return new(FetchOutcome.BadGateway);
            }

            if (length > _options.MaxObjectBytes)
            {
                UpstreamLog.ParentFailed(_logger, parent.Authority, fetch.Path, $"object of {length} bytes exceeds Appliance:Upstream:MaxObjectBytes");
                return new(FetchOutcome.TooLarge);
            }

            // No client sees a head before the manifest has spoken: a refused object is a clean 502.
            var verdict = await verdictTask.ConfigureAwait(false);
            if (verdict.Refused)
            {
                return new(FetchOutcome.IntegrityRefused, verdict, TitleWide: true);
            }

            if (verdict.Expected is { } expected && expected.Size != length)
            {
                return new(FetchOutcome.IntegrityRefused, IntegrityVerdict.Refuse(IntegrityReason.SizeMismatch, $"{length} bytes, the integrity manifest says {expected.Size}"));
            }

            var etag = response.Headers.ETag?.ToString() ?? $"\"{fetch.Key:x16}-{length}\"";
            var lastModified = response.Content.Headers.LastModified ?? _time.GetUtcNow();
            // The type follows the path's extension, whatever a parent says, so every tier and every
            // appliance answers the same Content-Type for the same object.
            var head = new UpstreamHead(length.Value, ContentTypes.For(fetch.Path), etag, lastModified, parent.Authority, Caching.FreshnessRule.LifetimeFor(fetch.Path, parentCacheControl, _playlistTtl));
            return storeAndForward
                ? await StoreAndForwardAsync(parent, response, fetch, key, head, verdict).ConfigureAwait(false)
                : await CutThroughAsync(parent, response, fetch, head, verdict).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Makes a revalidation conditional: <c>If-None-Match</c> with the parent's ETag, else (an ETag this
    /// appliance made up because the parent sent none) <c>If-Modified-Since</c> with its Last-Modified.
    /// </summary>
    private static void AddValidators(HttpRequestMessage request, Caching.ObjectInfo stale)
    {
        if (!IsSynthesizedETag(stale))
        {
            request.Headers.TryAddWithoutValidation("If-None-Match", stale.ETag);
        }
        else
        {
            request.Headers.IfModifiedSince = stale.LastModified;
        }
    }

    /// <summary>The ETag <see cref="TryParentAsync"/> gives an object whose parent sent none: no parent knows it.</summary>
    private static bool IsSynthesizedETag(Caching.ObjectInfo info) =>
        info.ETag == $"\"{Caching.KeyHash.Of(info.Path):x16}-{info.Length}\"";

    /// <summary>
    /// Sends the head at once and the body as it arrives; the last byte is held back until the body is
    /// verified, so a body that fails is never delivered whole (its clients are cut off) nor admitted.
    /// </summary>
    private async Task<Attempt> CutThroughAsync(Uri parent, HttpResponseMessage response, InflightObject fetch, UpstreamHead head, IntegrityVerdict verdict)
    {
        fetch.SetHead(head);
        if (head.Length == 0)
        {
            return new(FetchOutcome.Ok);
        }

        var read = await ReadBodyAsync(parent, response, fetch.Path, fetch.Body, fetch).ConfigureAwait(false);
        if (read != FetchOutcome.Ok)
        {
            return new(read);
        }

        if (verdict.Expected is null)
        {
            fetch.Complete(true);
            return new(FetchOutcome.Ok);
        }

        var actual = SHA256.HashData(fetch.Body);
        if (actual.AsSpan().SequenceEqual(Convert.FromHexString(verdict.Expected.Sha256)))
        {
            fetch.CompleteVerified(actual);
            return new(FetchOutcome.Ok);
        }

        // Clients already hold all but the last byte: cut them off. The next fetch of this object reads
        // and checks the whole body before answering, so its clients get a clean 502 or the right bytes.
        MarkSuspect(fetch.Key);
        CountRefusal(IntegrityVerdict.Refuse(IntegrityReason.HashMismatch, "SHA-256 does not match the integrity manifest"), fetch.Path, parent);
        fetch.Complete(false);
        return new(FetchOutcome.Ok);
    }

    /// <summary>
    /// Reads and verifies the whole body before any client sees the head: for the integrity manifest
    /// itself, and for objects that failed verification recently. A body that fails is refused from
    /// this parent, and the next one is tried.
    /// </summary>
    private async Task<Attempt> StoreAndForwardAsync(Uri parent, HttpResponseMessage response, InflightObject fetch, ContentKey key, UpstreamHead head, IntegrityVerdict verdict)
    {
        var body = GC.AllocateUninitializedArray<byte>(checked((int)head.Length), pinned: true);
        var read = await ReadBodyAsync(parent, response, fetch.Path, body, null).ConfigureAwait(false);
        if (read != FetchOutcome.Ok)
        {
            return new(read);
        }

        var actual = SHA256.HashData(body);
        if (IntegrityCatalog.IsManifest(key))
        {
            var check = _integrity.CheckManifestBody(key.TitleId, body);
            if (check.Refused)
            {
                return new(FetchOutcome.IntegrityRefused, check);
            }
        }
        else if (verdict.Expected is { } expected && !actual.AsSpan().SequenceEqual(Convert.FromHexString(expected.Sha256)))
        {
            MarkSuspect(fetch.Key);
            return new(FetchOutcome.IntegrityRefused, IntegrityVerdict.Refuse(IntegrityReason.HashMismatch, "SHA-256 does not match the integrity manifest"));
        }

        fetch.SetVerifiedBody(head, body, actual);
        return new(FetchOutcome.Ok);
    }

    /// <summary>Reads the body into <paramref name="body"/> (its length is the Content-Length), publishing progress to <paramref name="progress"/> when given.</summary>
    private async Task<FetchOutcome> ReadBodyAsync(Uri parent, HttpResponseMessage response, string path, byte[] body, InflightObject? progress)
    {
        long filled = 0;
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
            while (filled < body.Length)
            {
                using var idle = new CancellationTokenSource(_options.IdleReadTimeout);
                var n = await stream.ReadAsync(body.AsMemory((int)filled, (int)Math.Min(body.Length - filled, 256 * 1024)), idle.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                filled += n;
                _metrics.UpstreamBytes.Inc(n);
                progress?.Advance(filled);
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException)
        {
            UpstreamLog.ParentFailed(_logger, parent.Authority, path, $"body failed after {filled} bytes: {ex.Message}");
            return ex is OperationCanceledException ? FetchOutcome.GatewayTimeout : FetchOutcome.BadGateway;
        }

        if (filled != body.Length)
        {
            UpstreamLog.ParentFailed(_logger, parent.Authority, path, $"body ended after {filled} of {body.Length} bytes");
            return FetchOutcome.BadGateway;
        }

        return FetchOutcome.Ok;
    }

    private void CountRefusal(IntegrityVerdict refusal, string path, Uri parent)
    {
        _metrics.IntegrityRefusals.WithLabels(refusal.Reason!, "pull").Inc();
        UpstreamLog.IntegrityFailed(_logger, path, parent.Authority, refusal.Reason!, refusal.Detail!);
    }

    /// <summary>True when the object failed verification within <see cref="IntegrityCatalog.ManifestTtl"/>: it is then fetched store-and-forward.</summary>
    private bool IsSuspect(ulong key)
    {
        if (!_suspects.TryGetValue(key, out var until))
        {
            return false;
        }

        if (_time.GetUtcNow() < until)
        {
            return true;
        }

        _suspects.TryRemove(new KeyValuePair<ulong, DateTimeOffset>(key, until));
        return false;
    }

    private void MarkSuspect(ulong key)
    {
        if (_suspects.Count >= MaxSuspects)
        {
            // Bounded: forgetting suspects only costs the next client a cut-off instead of a clean 502.
            _suspects.Clear();
        }

        _suspects[key] = _time.GetUtcNow() + IntegrityCatalog.ManifestTtl;
    }

    public void Dispose() => _http.Dispose();
}
