using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using OpenConnect.Contracts.Security;

namespace OpenConnect.Steering.Signing;

/// <summary>
/// Issues playback tokens covering a whole title (so one token serves every pathway: only the host
/// differs), optionally bound to the client's /24 or /48.
/// </summary>
/// <remarks>
/// Expiry is rounded up to a bucket (a sixtieth of the lifetime), so every client of the same
/// network prefix asking for the same title within a bucket gets the same token; tokens are cached
/// by (title, client prefix, expiry) and an Ed25519 signature is paid once per bucket, not per play.
/// </remarks>
public sealed class TokenIssuer
{
    private const int MaxCachedTokens = 200_000;

    private readonly Ed25519SigningKey _key;
    private readonly TimeSpan _lifetime;
    private readonly long _bucketSeconds;
    private readonly bool _bindToClient;
    private readonly bool _cache;
    private readonly ConcurrentDictionary<(string Title, string? Prefix, long Expires), string> _tokens = new();

    public TokenIssuer(Ed25519SigningKey key, TimeSpan lifetime, bool bindToClient, bool cache = true)
    {
        _key = key;
        _lifetime = lifetime;
        _bucketSeconds = Math.Max(1, (long)lifetime.TotalSeconds / 60);
        _bindToClient = bindToClient;
        _cache = cache;
    }

    public Ed25519SigningKey Key => _key;

    /// <summary>Returns a token for <paramref name="title"/> and the client, and its expiry.</summary>
    public (string Token, DateTimeOffset Expires) Issue(string title, IPAddress? client, DateTimeOffset now)
    {
        var prefix = _bindToClient && client is not null ? ClientPrefix(client) : null;
        var minimum = now.ToUnixTimeSeconds() + (long)_lifetime.TotalSeconds;
        var expiresSeconds = (minimum + _bucketSeconds - 1) / _bucketSeconds * _bucketSeconds;
        var expires = DateTimeOffset.FromUnixTimeSeconds(expiresSeconds);
        if (!_cache)
        {
            return (UrlToken.Sign(_key, expires, UrlToken.TitlePrefix(title), prefix), expires);
        }

        var cacheKey = (title, prefix, expiresSeconds);
        if (_tokens.TryGetValue(cacheKey, out var token))
        {
            return (token, expires);
        }

        if (_tokens.Count >= MaxCachedTokens)
        {
            _tokens.Clear();
        }

        token = UrlToken.Sign(_key, expires, UrlToken.TitlePrefix(title), prefix);
        _tokens[cacheKey] = token;
        return (token, expires);
    }

    /// <summary>The client's /24 (IPv4) or /48 (IPv6), in the form tokens carry.</summary>
    public static string ClientPrefix(IPAddress client)
    {
        if (client.IsIPv4MappedToIPv6)
        {
            client = client.MapToIPv4();
        }

        Span<byte> bytes = stackalloc byte[16];
        client.TryWriteBytes(bytes, out var length);
        if (client.AddressFamily == AddressFamily.InterNetwork)
        {
            bytes[3] = 0;
            return $"{new IPAddress(bytes[..4])}/24";
        }

        bytes[6..length].Clear();
        return $"{new IPAddress(bytes[..16])}/48";
    }
}
