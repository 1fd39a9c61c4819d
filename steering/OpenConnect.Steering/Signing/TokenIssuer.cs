using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using OpenConnect.Contracts.Security;
using OpenConnect.Steering.Selection;

namespace OpenConnect.Steering.Signing;

/// <summary>The playback tokens steering issues (<c>Steering:TokenFormat</c>).</summary>
public enum PlaybackTokenFormat
{
    /// <summary>v2: one HMAC-SHA256 entry per appliance of the decision and one for the origin, each under that verifier's own key (default).</summary>
    Mac,

    /// <summary>v1: one Ed25519 signature every verifier checks with steering's public key (for a fleet whose appliances or origin predate v2).</summary>
    Ed25519,
}

/// <summary>
/// Issues playback tokens covering a whole title (so one token serves every pathway of a decision:
/// only the host differs), optionally bound to the client's /24 or /48.
/// </summary>
/// <remarks>
/// <para>
/// v2 tokens (the default) carry one MAC per verifier: each appliance of the decision and the origin.
/// Steering derives each verifier's key from its signing key (<see cref="PlaybackMacKey"/>) and hands
/// an appliance its key in the control-plane replies, on the mutual-TLS link whose certificate names
/// that appliance; the origin reads its key from the file steering writes beside its signing key. A
/// MAC costs about a microsecond where an Ed25519 signature costs tens, and an appliance's key
/// verifies only its own entries, so no appliance can mint a token another one accepts.
/// </para>
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
/// network prefix asking for the same title within a bucket gets the same token (both proofs are
/// deterministic). With the cache on (<c>Steering:CacheTokens</c>, off by default: it costs more
/// than a v2 token does), tokens are kept by (title, client prefix, expiry, verifiers).
/// </para>
/// </remarks>
public sealed class TokenIssuer
{
    private const int MaxCachedTokens = 200_000;

    private readonly Ed25519SigningKey _key;
    private readonly byte[] _master;
    private readonly TimeSpan _lifetime;
    private readonly long _bucketSeconds;
    private readonly bool _bindToClient;
    private readonly bool _cache;
    private readonly ConcurrentDictionary<(string Title, string? Prefix, long Expires, ulong Verifiers), string> _tokens = new();
    private readonly ConcurrentDictionary<string, PlaybackMacKey> _verifierKeys = new(StringComparer.Ordinal);

    public TokenIssuer(Ed25519SigningKey key, TimeSpan lifetime, bool bindToClient, bool cache = false, PlaybackTokenFormat format = PlaybackTokenFormat.Mac)
    {
        _key = key;
        _master = PlaybackMacKey.MasterOf(key);
        _lifetime = lifetime;
        _bucketSeconds = Math.Max(1, (long)lifetime.TotalSeconds / 60);
        _bindToClient = bindToClient;
        _cache = cache;
        Format = format;
        OriginKey = PlaybackMacKey.Derive(_master, PlaybackMacKey.OriginVerifier);
    }

    public Ed25519SigningKey Key => _key;

    public PlaybackTokenFormat Format { get; }

    /// <summary>The origin's MAC key (steering writes it to a file for the origin's configuration).</summary>
    public PlaybackMacKey OriginKey { get; }

    /// <summary>The MAC key of appliance <paramref name="applianceId"/>, for its control-plane replies only.</summary>
    public PlaybackMacKey KeyFor(string applianceId) =>
        _verifierKeys.TryGetValue(applianceId, out var key) ? key : _verifierKeys.GetOrAdd(applianceId, id => PlaybackMacKey.Derive(_master, id));

    /// <summary>Returns a token for <paramref name="title"/> and the client naming only the origin, and its expiry.</summary>
    public (string Token, DateTimeOffset Expires) Issue(string title, IPAddress? client, DateTimeOffset now) => Issue(title, client, now, []);

    /// <summary>Returns a token for <paramref name="title"/> and the client that <paramref name="appliances"/> and the origin accept, and its expiry.</summary>
    public (string Token, DateTimeOffset Expires) Issue(string title, IPAddress? client, DateTimeOffset now, ReadOnlySpan<ApplianceView?> appliances)
    {
        var prefix = _bindToClient && client is not null ? BindingFor(client) : null;
        var minimum = now.ToUnixTimeSeconds() + (long)_lifetime.TotalSeconds;
        var expiresSeconds = (minimum + _bucketSeconds - 1) / _bucketSeconds * _bucketSeconds;
        var expires = DateTimeOffset.FromUnixTimeSeconds(expiresSeconds);
        if (!_cache)
        {
            return (Sign(title, prefix, expires, appliances), expires);
        }

        var cacheKey = (title, prefix, expiresSeconds, Format == PlaybackTokenFormat.Mac ? VerifierHash(appliances) : 0UL);
        if (_tokens.TryGetValue(cacheKey, out var token))
        {
            return (token, expires);
        }

        if (_tokens.Count >= MaxCachedTokens)
        {
            _tokens.Clear();
        }

        token = Sign(title, prefix, expires, appliances);
        _tokens[cacheKey] = token;
        return (token, expires);
    }

    private string Sign(string title, string? prefix, DateTimeOffset expires, ReadOnlySpan<ApplianceView?> appliances)
    {
        if (Format == PlaybackTokenFormat.Ed25519)
        {
            return UrlToken.Sign(_key, expires, UrlToken.TitlePrefix(title), prefix);
        }

        var count = Math.Min(appliances.Length, UrlToken.MaxVerifiers - 1);
        var buffer = default(VerifierBuffer);
        Span<PlaybackMacKey> verifiers = buffer;
        for (var i = 0; i < count; i++)
        {
            verifiers[i] = KeyFor(appliances[i]!.Id);
        }

        verifiers[count] = OriginKey;
        return UrlToken.SignMac(verifiers[..(count + 1)], expires, UrlToken.TitlePrefix(title), prefix);
    }

    /// <summary>Order-sensitive hash of the appliances a token names (part of the cache key).</summary>
    private static ulong VerifierHash(ReadOnlySpan<ApplianceView?> appliances)
    {
        var hash = 0xcbf29ce484222325UL;
        foreach (var appliance in appliances)
        {
            hash = (hash ^ appliance!.IdHash) * 0x100000001b3UL;
            hash ^= hash >> 29;
        }

        return hash;
    }

    /// <summary>
    /// The networks a token issued to <paramref name="client"/> is bound to: the client's /24 and all
    /// of IPv6, or its /48 and all of IPv4 (IPv4-mapped IPv6 addresses count as IPv4).
    /// </summary>
    public static string BindingFor(IPAddress client)
    {
        // The common case, an IPv4 client, in one allocation: the text IPAddress would give, without
        // formatting an address object first.
        Span<byte> bytes = stackalloc byte[16];
        if (client.TryWriteBytes(bytes, out var length) && (length == 4 || client.IsIPv4MappedToIPv6))
        {
            var v4 = length == 4 ? bytes[..4] : bytes[12..16];
            Span<char> text = stackalloc char[32];
            var written = 0;
            for (var i = 0; i < 3; i++)
            {
                v4[i].TryFormat(text[written..], out var digits, provider: System.Globalization.CultureInfo.InvariantCulture);
                written += digits;
                text[written++] = '.';
            }

            const string Rest = "0/24,::/0";
            Rest.CopyTo(text[written..]);
            return new string(text[..(written + Rest.Length)]);
        }

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

/// <summary>Room for one token's verifier keys on the stack.</summary>
[System.Runtime.CompilerServices.InlineArray(UrlToken.MaxVerifiers)]
internal struct VerifierBuffer
{
    private PlaybackMacKey _first;
}
