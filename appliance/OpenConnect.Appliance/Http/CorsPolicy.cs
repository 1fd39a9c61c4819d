using System.Text;

namespace OpenConnect.Appliance.Http;

/// <summary>
/// Cross-origin access for browser players: every response carries the CORS headers, and preflights
/// are answered without touching the cache. The allow-list is either <c>*</c> or exact origins.
/// </summary>
public sealed class CorsPolicy
{
    public const string AllowedMethods = "GET, HEAD, OPTIONS";
    public const string AllowedHeaders = "Range, If-None-Match, If-Modified-Since, If-Range";
    public const string ExposedHeaders = "Content-Range, Content-Length, ETag, Accept-Ranges";

    private readonly bool _allowAny;
    private readonly HashSet<string> _origins;

    public CorsPolicy(IEnumerable<string> allowedOrigins)
    {
        _origins = new HashSet<string>(StringComparer.Ordinal);
        foreach (var origin in allowedOrigins)
        {
            if (origin == "*")
            {
                _allowAny = true;
            }
            else
            {
                _origins.Add(origin.TrimEnd('/'));
            }
        }
    }

    public bool AllowAny => _allowAny;

    /// <summary>The Access-Control-Allow-Origin value for a request's Origin, or null when it is not allowed.</summary>
    public string? AllowOriginFor(ReadOnlySpan<byte> origin)
    {
        if (_allowAny)
        {
            return "*";
        }

        if (origin.IsEmpty || origin.Length > 256)
        {
            return null;
        }

        Span<char> chars = stackalloc char[origin.Length];
        var n = Encoding.ASCII.GetChars(origin, chars);
        var lookup = _origins.GetAlternateLookup<ReadOnlySpan<char>>();
        return lookup.TryGetValue(chars[..n], out var allowed) ? allowed : null;
    }
}
