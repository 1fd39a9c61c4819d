using System.Buffers.Text;
using System.Globalization;
using System.Net;
using System.Text;
using OpenConnect.Contracts.Content;

namespace OpenConnect.Contracts.Security;

/// <summary>
/// A playback grant steering issues and appliances (and the origin) verify. It covers a path prefix
/// (normally a title, <c>/v/{title}/</c>), an expiry, and optionally the client's networks.
/// </summary>
/// <remarks>
/// The token travels as the first path segments of the URL, <c>/s/{token}/v/{title}/…</c>, not in
/// the query string: HLS and DASH players resolve playlist and segment URIs relative to the
/// playlist, which keeps the path (and so the token) but drops the query. The token is
/// <c>base64url(payload) "." base64url(proof)</c>, in one of two versions:
/// <list type="bullet">
/// <item><b>v2</b> (what steering issues): payload <c>v2 "|" expiresUnixSeconds "|" pathPrefix "|" clientPrefix</c>,
/// proof one 20-byte entry per verifier the token names (the appliances of the decision and the
/// origin): a 4-byte key tag and the first 16 bytes of HMAC-SHA256 of the payload under that
/// verifier's <see cref="PlaybackMacKey"/>. Each verifier holds only its own key, so it can check
/// (and could forge) its own entry only; a token it mints is refused everywhere else.</item>
/// <item><b>v1</b> (before per-verifier keys): payload <c>v1 "|" keyId "|" expiresUnixSeconds "|" pathPrefix "|" clientPrefix</c>,
/// proof an Ed25519 signature by steering. Verifiers accept v1 while steering's public key is in
/// their <c>PlaybackKeys</c> (the transition: tokens issued before the upgrade stay good until they
/// expire); with <c>PlaybackKeys</c> empty only v2 is accepted.</item>
/// </list>
/// <para>
/// <c>clientPrefix</c> is empty (any client) or a comma-separated list of at most
/// <see cref="MaxClientPrefixes"/> network prefixes; the client must lie in one of them. Tokens
/// issued before dual-stack serving name one prefix, which reads the same. Steering binds a player
/// to the /24 or /48 it came from and lists the other family's whole space (<c>::/0</c> or
/// <c>0.0.0.0/0</c>) so a dual-stack player can fetch over either family; see
/// <c>TokenIssuer</c> for the trade-off.
/// </para>
/// </remarks>
public sealed record UrlToken(string KeyId, DateTimeOffset Expires, string PathPrefix, string? ClientPrefix)
{
    /// <summary>Signed URLs start with this segment: <c>/s/{token}/v/…</c>.</summary>
    public const string PathPrefixSegment = "/s/";

    /// <summary>Longest token accepted (a v2 token naming 16 appliances and the origin fits).</summary>
    public const int MaxTokenLength = 1024;

    /// <summary>At most this many verifiers (MAC entries) in a v2 token: 16 appliances and the origin.</summary>
    public const int MaxVerifiers = 17;

    /// <summary>The <see cref="KeyId"/> a v2 (MAC) token reads with.</summary>
    public const string MacKeyId = "mac";

    /// <summary>At most this many network prefixes in <see cref="ClientPrefix"/>.</summary>
    public const int MaxClientPrefixes = 4;

    private const string Version = "v1";
    private const string MacVersion = "v2";
    private const int MaxPayloadBytes = 640;

    /// <summary>The path prefix that grants a whole title.</summary>
    public static string TitlePrefix(string titleId) => string.Concat(ContentKey.Prefix, titleId, "/");

    /// <summary>Signs the grant and returns the token text.</summary>
    public static string Sign(Ed25519SigningKey key, DateTimeOffset expires, string pathPrefix, string? clientPrefix = null)
    {
        if (pathPrefix.Contains('|') || (clientPrefix?.Contains('|') ?? false))
        {
            throw new ArgumentException("token fields must not contain '|'");
        }

        if (clientPrefix is not null && !IsPrefixList(clientPrefix))
        {
            throw new ArgumentException($"'{clientPrefix}' is not a network prefix such as 203.0.113.0/24, or a comma-separated list of at most {MaxClientPrefixes}", nameof(clientPrefix));
        }

        var payload = Encoding.UTF8.GetBytes(string.Join('|', Version, key.KeyId, expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), pathPrefix, clientPrefix ?? ""));
        return Base64Url.EncodeToString(payload) + "." + Base64Url.EncodeToString(key.Sign(payload));
    }

    /// <summary>
    /// Issues a v2 token naming <paramref name="verifiers"/> (each verifier's key adds one MAC entry) and
    /// returns its text. Throws <see cref="ArgumentException"/> for fields a token cannot carry.
    /// </summary>
    public static string SignMac(ReadOnlySpan<PlaybackMacKey> verifiers, DateTimeOffset expires, string pathPrefix, string? clientPrefix = null)
    {
        if (pathPrefix.Contains('|') || (clientPrefix?.Contains('|') ?? false))
        {
            throw new ArgumentException("token fields must not contain '|'");
        }

        if (clientPrefix is not null && !IsPrefixList(clientPrefix))
        {
            throw new ArgumentException($"'{clientPrefix}' is not a network prefix such as 203.0.113.0/24, or a comma-separated list of at most {MaxClientPrefixes}", nameof(clientPrefix));
        }

        if (verifiers.Length is 0 or > MaxVerifiers)
        {
            throw new ArgumentException($"a token names 1 to {MaxVerifiers} verifiers, got {verifiers.Length}", nameof(verifiers));
        }

        Span<byte> payload = stackalloc byte[MaxPayloadBytes];
        if (!System.Text.Unicode.Utf8.TryWrite(payload, CultureInfo.InvariantCulture, $"{MacVersion}|{expires.ToUnixTimeSeconds()}|{pathPrefix}|{clientPrefix}", out var length))
        {
            throw new ArgumentException($"token fields longer than {MaxPayloadBytes} bytes", nameof(pathPrefix));
        }

        payload = payload[..length];
        Span<byte> proof = stackalloc byte[MaxVerifiers * PlaybackMacKey.EntryLength];
        proof = proof[..(verifiers.Length * PlaybackMacKey.EntryLength)];
        for (var i = 0; i < verifiers.Length; i++)
        {
            verifiers[i].WriteEntry(payload, proof.Slice(i * PlaybackMacKey.EntryLength, PlaybackMacKey.EntryLength));
        }

        var payloadChars = Base64Url.GetEncodedLength(payload.Length);
        Span<char> text = stackalloc char[payloadChars + 1 + Base64Url.GetEncodedLength(proof.Length)];
        Base64Url.EncodeToChars(payload, text);
        text[payloadChars] = '.';
        Base64Url.EncodeToChars(proof, text[(payloadChars + 1)..]);
        return new string(text);
    }

    /// <summary>A signed URL path: <c>/s/{token}{contentPath}</c>.</summary>
    public static string SignedPath(string token, string contentPath) => string.Concat("/s/", token, contentPath);

    /// <summary>
    /// Splits <c>/s/{token}/v/…</c> into the token and the content path. False when the path does not
    /// start with the signed prefix or the token is empty or too long.
    /// </summary>
    public static bool TrySplitSignedPath(ReadOnlySpan<char> path, out ReadOnlySpan<char> token, out ReadOnlySpan<char> contentPath)
    {
        token = default;
        contentPath = default;
        if (!path.StartsWith(PathPrefixSegment, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = path[PathPrefixSegment.Length..];
        var slash = rest.IndexOf('/');
        if (slash <= 0 || slash > MaxTokenLength)
        {
            return false;
        }

        token = rest[..slash];
        contentPath = rest[slash..];
        return true;
    }

    /// <summary>
    /// Verifies a token for a request: signature by a trusted key, not expired, covering
    /// <paramref name="contentPath"/>, and (when the token names one) issued for the client's network.
    /// </summary>
    public static TokenCheck Verify(ReadOnlySpan<char> token, PublicKeyRing keys, DateTimeOffset now, ReadOnlySpan<char> contentPath, IPAddress? client) =>
        Verify(token, keys, null, now, contentPath, client);

    /// <summary>
    /// Verifies a token for a request: a v2 token by an entry for one of <paramref name="macKeys"/>
    /// (this verifier's own keys), a v1 token by a signature of a key in <paramref name="keys"/>; then
    /// not expired, covering <paramref name="contentPath"/>, and (when the token names one) issued
    /// for the client's network.
    /// </summary>
    public static TokenCheck Verify(ReadOnlySpan<char> token, PublicKeyRing keys, PlaybackMacKeyRing? macKeys, DateTimeOffset now, ReadOnlySpan<char> contentPath, IPAddress? client)
    {
        if (token.IsEmpty)
        {
            return TokenCheck.Missing;
        }

        var dot = token.IndexOf('.');
        if (dot <= 0 || token.Length > MaxTokenLength)
        {
            return TokenCheck.Malformed;
        }

        Span<byte> payloadBuffer = stackalloc byte[MaxTokenLength];
        Span<byte> proofBuffer = stackalloc byte[MaxTokenLength];
        if (!TryDecode(token[..dot], payloadBuffer, out var payloadLength)
            || !TryDecode(token[(dot + 1)..], proofBuffer, out var proofLength))
        {
            return TokenCheck.Malformed;
        }

        var payload = payloadBuffer[..payloadLength];
        var proof = proofBuffer[..proofLength];
        var grant = TryParsePayload(payload);
        if (grant is null)
        {
            return TokenCheck.Malformed;
        }

        var proven = grant.KeyId == MacKeyId ? CheckMacs(payload, proof, macKeys) : CheckSignature(grant.KeyId, payload, proof, keys);
        if (proven != TokenCheck.Valid)
        {
            return proven;
        }

        if (now >= grant.Expires)
        {
            return TokenCheck.Expired;
        }

        if (!contentPath.StartsWith(grant.PathPrefix, StringComparison.Ordinal))
        {
            return TokenCheck.WrongPath;
        }

        if (grant.ClientPrefix is not null && (client is null || !InPrefixList(client, grant.ClientPrefix)))
        {
            return TokenCheck.WrongClient;
        }

        return TokenCheck.Valid;
    }

    private static TokenCheck CheckSignature(string keyId, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> signature, PublicKeyRing keys)
    {
        if (!keys.TryGet(keyId, out var key))
        {
            return TokenCheck.UnknownKey;
        }

        return key.Verify(payload, signature) ? TokenCheck.Valid : TokenCheck.BadSignature;
    }

    private static TokenCheck CheckMacs(ReadOnlySpan<byte> payload, ReadOnlySpan<byte> proof, PlaybackMacKeyRing? macKeys)
    {
        if (proof.Length == 0 || proof.Length % PlaybackMacKey.EntryLength != 0 || proof.Length > MaxVerifiers * PlaybackMacKey.EntryLength)
        {
            return TokenCheck.Malformed;
        }

        if (macKeys is null)
        {
            return TokenCheck.UnknownKey;
        }

        var named = false;
        for (var offset = 0; offset < proof.Length; offset += PlaybackMacKey.EntryLength)
        {
            var entry = proof.Slice(offset, PlaybackMacKey.EntryLength);
            var tag = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(entry);
            if (macKeys.Verify(tag, payload, entry[PlaybackMacKey.TagLength..], out var known))
            {
                return TokenCheck.Valid;
            }

            named |= known;
        }

        // No entry for this verifier: the token was issued for other appliances.
        return named ? TokenCheck.BadSignature : TokenCheck.UnknownKey;
    }

    /// <summary>
    /// True when <paramref name="list"/> is a comma-separated list of 1 to <see cref="MaxClientPrefixes"/>
    /// network prefixes (one prefix being the form every token had before dual-stack serving).
    /// </summary>
    public static bool IsPrefixList(string list)
    {
        var count = 0;
        foreach (var range in list.AsSpan().Split(','))
        {
            if (++count > MaxClientPrefixes || !TryParsePrefix(list[range], out _, out _))
            {
                return false;
            }
        }

        return count > 0;
    }

    /// <summary>True when <paramref name="address"/> lies in one of the prefixes of <paramref name="list"/> (a malformed list matches nothing).</summary>
    public static bool InPrefixList(IPAddress address, string list)
    {
        if (!IsPrefixList(list))
        {
            return false;
        }

        foreach (var range in list.AsSpan().Split(','))
        {
            if (TryParsePrefix(list[range], out var network, out var bits) && InPrefix(address, network, bits))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Reads the grant inside a token without verifying it (for diagnostics); null when malformed.</summary>
    public static UrlToken? Peek(ReadOnlySpan<char> token)
    {
        var dot = token.IndexOf('.');
        if (dot <= 0)
        {
            return null;
        }

        Span<byte> payload = stackalloc byte[MaxTokenLength];
        return dot <= MaxTokenLength && TryDecode(token[..dot], payload, out var length) ? TryParsePayload(payload[..length]) : null;
    }

    /// <summary>Decodes base64url; false (never an exception) for text that is not base64url or does not fit.</summary>
    private static bool TryDecode(ReadOnlySpan<char> text, Span<byte> destination, out int length)
    {
        try
        {
            return Base64Url.TryDecodeFromChars(text, destination, out length);
        }
        catch (FormatException)
        {
            length = 0;
            return false;
        }
    }

    /// <summary>The grant of a v1 or v2 payload; a v2 grant reads with <see cref="MacKeyId"/> as its key id.</summary>
    private static UrlToken? TryParsePayload(ReadOnlySpan<byte> payload)
    {
        var fields = Encoding.UTF8.GetString(payload).Split('|');
        if (fields.Length == 4 && fields[0] == MacVersion)
        {
            // v2 has no key id: the proof names its keys.
            fields = [MacVersion, MacKeyId, fields[1], fields[2], fields[3]];
        }
        else if (fields.Length != 5 || fields[0] != Version || fields[1].Length == 0 || fields[1] == MacKeyId)
        {
            return null;
        }

        if (!fields[3].StartsWith(ContentKey.Prefix, StringComparison.Ordinal)
            || !long.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var expires) || expires > 253402300799)
        {
            return null;
        }

        return new UrlToken(fields[1], DateTimeOffset.FromUnixTimeSeconds(expires), fields[3], fields[4].Length == 0 ? null : fields[4]);
    }

    /// <summary>Parses <c>address/bits</c> (IPv4 or IPv6).</summary>
    public static bool TryParsePrefix(string text, out IPAddress network, out int bits)
    {
        network = IPAddress.None;
        bits = 0;
        var slash = text.IndexOf('/');
        if (slash <= 0 || !IPAddress.TryParse(text.AsSpan(0, slash), out var address)
            || !int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out bits))
        {
            return false;
        }

        network = address;
        return bits <= (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
    }

    /// <summary>True when <paramref name="address"/> lies in <paramref name="network"/>/<paramref name="bits"/> (IPv4-mapped IPv6 addresses count as IPv4).</summary>
    public static bool InPrefix(IPAddress address, IPAddress network, int bits)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (network.IsIPv4MappedToIPv6)
        {
            network = network.MapToIPv4();
        }

        if (address.AddressFamily != network.AddressFamily)
        {
            return false;
        }

        Span<byte> a = stackalloc byte[16];
        Span<byte> n = stackalloc byte[16];
        address.TryWriteBytes(a, out var length);
        network.TryWriteBytes(n, out _);
        var full = bits / 8;
        if (!a[..full].SequenceEqual(n[..full]))
        {
            return false;
        }

        var rest = bits % 8;
        if (rest == 0 || full >= length)
        {
            return true;
        }

        var mask = (byte)(0xFF << (8 - rest));
        return (a[full] & mask) == (n[full] & mask);
    }
}

/// <summary>The outcome of checking a playback token; everything but <see cref="Valid"/> is answered with 403.</summary>
public enum TokenCheck
{
    Valid,
    Missing,
    Malformed,
    UnknownKey,
    BadSignature,
    Expired,
    WrongPath,
    WrongClient,
}
