using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Prometheus;

namespace OpenConnect.Origin.Catalog.Titles;

/// <summary>A title's API representation, serialized once, with its entity tag.</summary>
public sealed record CachedTitle(byte[] Json, string ETag);

/// <summary>
/// The hot-key cache in front of <c>GET /api/v1/titles/{id}</c>: serialized JSON per title, one
/// database load per key however many requests arrive at once (concurrent callers share the
/// in-flight load), dropped on every change so the next read reloads.
/// </summary>
public sealed class TitleCache
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly ConcurrentDictionary<string, Lazy<Task<CachedTitle?>>> _entries = new(StringComparer.Ordinal);
    private readonly int _capacity;
    private readonly Counter _loads;
    private readonly Counter _hits;
    private Func<string, CancellationToken, Task<TitleView?>>? _loader;
    private long _loadCount;

    public TitleCache(IOptions<OriginOptions> options, IMetricFactory metrics)
    {
        _capacity = options.Value.Catalog.TitleCacheEntries;
        _loads = metrics.CreateCounter("openconnect_catalog_title_cache_loads_total", "Title metadata loads from the database by the hot-key cache.");
        _hits = metrics.CreateCounter("openconnect_catalog_title_cache_hits_total", "Title metadata reads answered from the hot-key cache.");
    }

    /// <summary>Database loads performed so far (one per key per invalidation under any concurrency).</summary>
    public long Loads => Interlocked.Read(ref _loadCount);

    internal void SetLoader(Func<string, CancellationToken, Task<TitleView?>> loader) => _loader = loader;

    public async Task<CachedTitle?> GetAsync(string id)
    {
        if (_entries.TryGetValue(id, out var existing) && existing.IsValueCreated && existing.Value.IsCompletedSuccessfully)
        {
            _hits.Inc();
            return existing.Value.Result;
        }

        if (_entries.Count >= _capacity)
        {
            EvictSome();
        }

        var entry = _entries.GetOrAdd(id, key => new Lazy<Task<CachedTitle?>>(() => LoadAsync(key), LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            var value = await entry.Value;
            if (value is null)
            {
                // Unknown ids are not kept: they would let anyone fill the cache.
                _entries.TryRemove(new KeyValuePair<string, Lazy<Task<CachedTitle?>>>(id, entry));
            }

            return value;
        }
        catch
        {
            _entries.TryRemove(new KeyValuePair<string, Lazy<Task<CachedTitle?>>>(id, entry));
            throw;
        }
    }

    /// <summary>
    /// Drops the entry. A load already in flight still answers the callers that joined it, but is no
    /// longer reachable, so every later read loads the new state.
    /// </summary>
    public void Invalidate(string id) => _entries.TryRemove(id, out _);

    /// <summary>Drops every entry (another instance's changes may have been missed).</summary>
    public void Clear() => _entries.Clear();

    private async Task<CachedTitle?> LoadAsync(string id)
    {
        Interlocked.Increment(ref _loadCount);
        _loads.Inc();
        await Task.Yield();
        var loader = _loader ?? throw new InvalidOperationException("title cache has no loader");
        var view = await loader(id, CancellationToken.None);
        if (view is null)
        {
            return null;
        }

        var json = JsonSerializer.SerializeToUtf8Bytes(view, Json);
        var etag = "\"" + Convert.ToHexStringLower(XxHash64.Hash(json)) + "\"";
        return new CachedTitle(json, etag);
    }

    private void EvictSome()
    {
        // Approximate: drop about a tenth of the entries, in dictionary order. Hot titles are reloaded once.
        var toDrop = Math.Max(1, _capacity / 10);
        foreach (var key in _entries.Keys)
        {
            if (toDrop-- <= 0)
            {
                break;
            }

            _entries.TryRemove(key, out _);
        }
    }
}
