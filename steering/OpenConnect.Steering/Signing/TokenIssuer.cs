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
/// <para>
/// Binding is per address family. Steering sees one address of a player (the one its request came
/// from) and cannot know the player's address in the other family: a dual-stack home has an IPv4
/// /24 and an IPv6 /48 that nothing links. A bound token therefore names the client's prefix in the
/// family it came from and the whole other family (<see cref="BindingFor"/>:
/// <c>203.0.113.0/24,::/0</c> or <c>2001:db8:1::/48,0.0.0.0/0</c>), so a player that got its URLs
/// over IPv4 may fetch segments over IPv6 and the reverse. The cost: a leaked token is usable from
/// anywhere in the other family until it expires, where it used to be usable only from the
/// issuing /24 or /48; the path (one title) and the expiry still bound it, and a foreign client of
/// the issuing family is still refused.
/// </para>
/// <para>
/// Expiry is rounded up to a bucket (a sixtieth of the lifetime), so every client of the same
/// network prefix asking for the same title within a bucket gets the same token; tokens are cached
/// by (title, client prefix, expiry) and an Ed25519 signature is paid once per bucket, not per play.
/// </para>
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
        var prefix = _bindToClient && client is not null ? BindingFor(client) : null;
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

    /// <summary>
    /// The networks a token issued to <paramref name="client"/> is bound to: the client's /24 and all
    /// of IPv6, or its /48 and all of IPv4 (IPv4-mapped IPv6 addresses count as IPv4).
    /// </summary>
    public static string BindingFor(IPAddress client)
    {
        var own = ClientPrefix(client);
        return string.Concat(own, own.Contains(':', StringComparison.Ordinal) ? ",0.0.0.0/0" : ",::/0");
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
