using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Content;
using OpenConnect.Contracts.Security;

namespace OpenConnect.Appliance.Upstream;

/// <summary>
/// Pull-through on a miss: asks the parents in order (peer appliances in the site, then the
/// origin), each with a connect, header and idle-read timeout, and moves on when one fails. Every
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
    private readonly Uri[] _configuredParents;
    private volatile Uri[] _parents;
    private readonly TimeProvider _time;
    private readonly ApplianceMetrics _metrics;
    private readonly ILogger<ParentFetcher> _logger;

    private readonly IntegrityCatalog _integrity;

    public ParentFetcher(IOptions<ApplianceOptions> options, TimeProvider time, ApplianceMetrics metrics, ILogger<ParentFetcher> logger)
    {
        _options = options.Value.Upstream;
        _configuredParents = [.. options.Value.Parents.Select(p => new Uri(p.TrimEnd('/') + "/"))];
        _parents = _configuredParents;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _notFound = new NotFoundCache(_options.NotFoundTtl, _options.NotFoundMaxEntries, _options.NotFoundMaxBytes, time);
        _http = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            ConnectTimeout = _options.ConnectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            MaxConnectionsPerServer = _options.MaxConnectionsPerParent,
        });
        // Manifests come from the same parents, through the same connection pools.
        _integrity = new IntegrityCatalog(_options.NotFoundTtl, PublicKeyRing.Parse(_options.IntegrityKeys), time, logger, GetSmallAsync);
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

    /// <summary>GETs a small object (a manifest) from the parents in order: the first 200 or 404 wins.</summary>
    private async Task<(int Status, byte[]? Body)> GetSmallAsync(string path, int maxBytes, CancellationToken cancellationToken)
    {
        var status = 502;
        foreach (var parent in _parents)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(_options.HeaderTimeout + _options.IdleReadTimeout);
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(parent, path.TrimStart('/')));
                using var response = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    status = 404;
                    continue;
                }

                if (response.StatusCode == HttpStatusCode.OK && response.Content.Headers.ContentLength is { } length && length <= maxBytes)
                {
                    return (200, await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false));
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
            {
                UpstreamLog.ParentFailed(_logger, parent.Authority, path, ex.Message);
            }
        }

        return (status, null);
    }

    /// <summary>The parents' 404s remembered for <c>Upstream:NotFoundTtl</c>, bounded by count and bytes.</summary>
    public NotFoundCache NotFound => _notFound;

    /// <summary>Fetches under way (each object once, however many requests joined it).</summary>
    public int FetchesInFlight => Volatile.Read(ref _fetches);

    /// <summary>
    /// Returns the fetch for <paramref name="key"/>, starting it if none is under way. When a fetch
    /// completes successfully <paramref name="onComplete"/> runs once (the cache admits the body).
    /// <paramref name="join"/> tells how: a new fetch, one already under way (collapsed), a 404 the
    /// not-found cache remembers, or refused because too many fetches are under way (overall, or for
    /// the object's title): joining a fetch is always allowed, starting one for a not-yet-known object is
    /// what the caps bound, so a flood of unique missing names cannot become one parent request each.
    /// </summary>
    public InflightObject GetOrStart(ulong key, string path, Action<InflightObject> onComplete, out FetchJoin join)
    {
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
                if (existing.Head is not null && existing.Completed.IsCompletedSuccessfully && !existing.Completed.Result)
                {
                    // Its body already failed (cut part-way or refused by the integrity check) and it is on its
                    // way out of the table: a request arriving now starts a fresh fetch instead of sharing
                    // that failure.
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

            var fetch = new InflightObject(key, path);
            if (_inflight.TryAdd(key, fetch))
            {
                _ = RunAsync(fetch, title, onComplete);
                join = FetchJoin.Started;
                return fetch;
            }

            EndFetch(title);
        }
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
        try
        {
            await FetchAsync(fetch).ConfigureAwait(false);
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

    private async Task FetchAsync(InflightObject fetch)
    {
        var parents = _parents;
        if (parents.Length == 0)
        {
            fetch.Fail(FetchOutcome.BadGateway);
            return;
        }

        var notFound = 0;
        var lastFailure = FetchOutcome.BadGateway;
        var lastWasNotFound = false;
        foreach (var parent in parents)
        {
            _metrics.UpstreamFetches.WithLabels(parent.Authority).Inc();
            var result = await TryParentAsync(parent, fetch).ConfigureAwait(false);
            switch (result)
            {
                case FetchOutcome.Ok:
                    return;
                case FetchOutcome.NotFound:
                    notFound++;
                    lastWasNotFound = true;
                    break;
                case FetchOutcome.TooLarge:
                    fetch.Fail(FetchOutcome.TooLarge);
                    return;
                default:
                    lastFailure = result;
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

        fetch.Fail(lastFailure);
    }

    private async Task<FetchOutcome> TryParentAsync(Uri parent, InflightObject fetch)
    {
        using var headerTimeout = new CancellationTokenSource(_options.HeaderTimeout);
        HttpResponseMessage response;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(parent, fetch.Path.TrimStart('/')));
            request.Headers.TryAddWithoutValidation("Via", "1.1 openconnect-appliance");
            response = await _http.SendAsync(request, headerTimeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            UpstreamLog.ParentFailed(_logger, parent.Authority, fetch.Path, ex.Message);
            return headerTimeout.IsCancellationRequested || ex.InnerException is TimeoutException ? FetchOutcome.GatewayTimeout : FetchOutcome.BadGateway;
        }

        using (response)
        {
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return FetchOutcome.NotFound;
            }

            if (response.StatusCode != HttpStatusCode.OK)
            {
                UpstreamLog.ParentFailed(_logger, parent.Authority, fetch.Path, $"status {(int)response.StatusCode}");
                return FetchOutcome.BadGateway;
            }

            var length = response.Content.Headers.ContentLength;
            if (length is null)
            {
                UpstreamLog.ParentFailed(_logger, parent.Authority, fetch.Path, "no Content-Length");
                return FetchOutcome.BadGateway;
            }

            if (length > _options.MaxObjectBytes)
            {
                UpstreamLog.ParentFailed(_logger, parent.Authority, fetch.Path, $"object of {length} bytes exceeds Appliance:Upstream:MaxObjectBytes");
                return FetchOutcome.TooLarge;
            }

            var etag = response.Headers.ETag?.ToString() ?? $"\"{fetch.Key:x16}-{length}\"";
            var lastModified = response.Content.Headers.LastModified ?? _time.GetUtcNow();
            // The type follows the path's extension, whatever a parent says, so every tier and every
            // appliance answers the same Content-Type for the same object.
            var contentType = ContentTypes.For(fetch.Path);
            fetch.SetHead(new UpstreamHead(length.Value, contentType, etag, lastModified, parent.Authority));
            if (length == 0)
            {
                return FetchOutcome.Ok;
            }

            return await ReadBodyAsync(parent, response, fetch).ConfigureAwait(false);
        }
    }

    private async Task<FetchOutcome> ReadBodyAsync(Uri parent, HttpResponseMessage response, InflightObject fetch)
    {
        var body = fetch.Body;
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
                fetch.Advance(filled);
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException)
        {
            UpstreamLog.ParentFailed(_logger, parent.Authority, fetch.Path, $"body failed after {filled} bytes: {ex.Message}");
            return ex is OperationCanceledException ? FetchOutcome.GatewayTimeout : FetchOutcome.BadGateway;
        }

        if (filled != body.Length)
        {
            UpstreamLog.ParentFailed(_logger, parent.Authority, fetch.Path, $"body ended after {filled} of {body.Length} bytes");
            return FetchOutcome.BadGateway;
        }

        var (intact, sha256) = await VerifyAsync(parent, fetch).ConfigureAwait(false);
        if (sha256 is not null)
        {
            fetch.CompleteVerified(sha256);
        }
        else
        {
            fetch.Complete(intact);
        }

        return FetchOutcome.Ok;
    }

    /// <summary>
    /// Checks the body against the title's integrity manifest. Clients of this fetch hold back the
    /// last byte until this returns, so a body that fails is never delivered whole, and it is never
    /// admitted to a tier. Returns the body's SHA-256 with an intact body the manifest lists.
    /// </summary>
    private async Task<(bool Intact, byte[]? Sha256)> VerifyAsync(Uri parent, InflightObject fetch)
    {
        if (!Contracts.Content.ContentKey.TryParse(fetch.Path, out var key))
        {
            return (false, null);
        }

        byte[]? expected;
        try
        {
            expected = await _integrity.ExpectedSha256Async(key, CancellationToken.None).ConfigureAwait(false);
        }
        catch (InvalidDataException ex)
        {
            _metrics.IntegrityFailures.Inc();
            UpstreamLog.IntegrityFailed(_logger, fetch.Path, parent.Authority, ex.Message);
            return (false, null);
        }

        if (expected is null)
        {
            return (true, null);
        }

        var actual = System.Security.Cryptography.SHA256.HashData(fetch.Body);
        if (actual.AsSpan().SequenceEqual(expected))
        {
            return (true, actual);
        }

        _metrics.IntegrityFailures.Inc();
        UpstreamLog.IntegrityFailed(_logger, fetch.Path, parent.Authority, "SHA-256 does not match the manifest");
        return (false, null);
    }

    public void Dispose() => _http.Dispose();
}
