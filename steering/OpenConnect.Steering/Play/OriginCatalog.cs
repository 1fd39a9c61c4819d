using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Options;

namespace OpenConnect.Steering.Play;

/// <summary>
/// What the origin has published: whether a title exists and its multivariant playlist and MPD,
/// fetched from the origin and reused for <see cref="SteeringOptions.CatalogCacheTime"/>.
/// </summary>
public sealed class OriginCatalog
{
    private readonly HttpClient _http;
    private readonly string _origin;
    private readonly TimeSpan _cacheTime;
    private readonly TimeProvider _time;
    private readonly ILogger<OriginCatalog> _logger;
    private readonly ConcurrentDictionary<string, (DateTimeOffset Fetched, OriginAnswer Answer)> _cache = new(StringComparer.Ordinal);

    public OriginCatalog(IOptions<SteeringOptions> options, TimeProvider time, ILogger<OriginCatalog> logger)
    {
        _origin = options.Value.OriginUrl.TrimEnd('/');
        _cacheTime = options.Value.CatalogCacheTime;
        _time = time;
        _logger = logger;
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = TimeSpan.FromSeconds(5) };
    }

    /// <summary>The text of a title-level file (<c>master.m3u8</c>, <c>manifest.mpd</c>); found means published.</summary>
    public Task<OriginAnswer> GetTextAsync(string title, string file, CancellationToken cancellationToken) =>
        GetAsync(title, file, HttpMethod.Get, cancellationToken);

    private async Task<OriginAnswer> GetAsync(string title, string file, HttpMethod method, CancellationToken cancellationToken)
    {
        var key = $"{method.Method} {title}/{file}";
        var now = _time.GetUtcNow();
        if (_cache.TryGetValue(key, out var cached) && now - cached.Fetched < _cacheTime)
        {
            return cached.Answer;
        }

        var url = $"{_origin}/v/{title}/{file}";
        OriginAnswer answer;
        try
        {
            using var request = new HttpRequestMessage(method, url);
            using var response = await _http.SendAsync(request, cancellationToken);
            answer = response.StatusCode switch
            {
                HttpStatusCode.OK => new OriginAnswer(OriginStatus.Found, method == HttpMethod.Get ? await response.Content.ReadAsStringAsync(cancellationToken) : null),
                HttpStatusCode.NotFound => new OriginAnswer(OriginStatus.NotFound, null),
                _ => new OriginAnswer(OriginStatus.Unavailable, null),
            };
            if (answer.Status == OriginStatus.Unavailable)
            {
                SteeringLog.OriginFailed(_logger, url, $"HTTP {(int)response.StatusCode}");
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            SteeringLog.OriginFailed(_logger, url, ex.Message);
            answer = new OriginAnswer(OriginStatus.Unavailable, null);
        }

        if (answer.Status != OriginStatus.Unavailable)
        {
            if (_cache.Count > 10_000)
            {
                _cache.Clear();
            }

            _cache[key] = (now, answer);
        }

        return answer;
    }
}

public enum OriginStatus
{
    Found,
    NotFound,
    Unavailable,
}

/// <summary>The origin's answer for one file: found (with its text for GET), not found, or unreachable.</summary>
public sealed record OriginAnswer(OriginStatus Status, string? Text);
