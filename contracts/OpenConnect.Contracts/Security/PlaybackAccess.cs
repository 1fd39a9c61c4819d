using System.Net;

namespace OpenConnect.Contracts.Security;

/// <summary>
/// Who may read content from a server: a player presenting a playback token in the path
/// (<c>/s/{token}/v/…</c>) that verifies against the trusted keys, or a peer from a trusted network
/// asking for the plain path (<c>/v/…</c>): peer appliances and fill. Appliances and the origin's
/// parent endpoint both decide with this. v2 tokens verify with this server's own MAC keys
/// (<see cref="MacKeys"/>), v1 tokens with steering's public keys (<see cref="Keys"/>).
/// </summary>
public sealed class PlaybackAccess
{
    private readonly PublicKeyRing _keys;
    private readonly NetworkList _unsignedNetworks;

    public PlaybackAccess(PublicKeyRing keys, NetworkList unsignedNetworks, PlaybackMacKeyRing? macKeys = null)
    {
        _keys = keys;
        _unsignedNetworks = unsignedNetworks;
        MacKeys = macKeys ?? new PlaybackMacKeyRing();
    }

    /// <summary>Steering's Ed25519 public keys, for v1 tokens (empty: v1 tokens are refused).</summary>
    public PublicKeyRing Keys => _keys;

    /// <summary>This server's own MAC keys, for v2 tokens; an appliance installs the key steering sends it.</summary>
    public PlaybackMacKeyRing MacKeys { get; }

    /// <summary>Whether <paramref name="client"/> may fetch unsigned <c>/v/…</c> paths.</summary>
    public bool AllowsUnsigned(IPAddress? client) => client is not null && _unsignedNetworks.Contains(client);

    /// <summary>
    /// Checks a request path (<c>/s/{token}/v/…</c> or <c>/v/…</c>). On success
    /// <paramref name="contentPath"/> is the <c>/v/…</c> part; <paramref name="signed"/> tells which form it was.
    /// </summary>
    public AccessResult Check(ReadOnlySpan<char> path, IPAddress? client, DateTimeOffset now, out ReadOnlySpan<char> contentPath, out bool signed)
    {
        if (UrlToken.TrySplitSignedPath(path, out var token, out contentPath))
        {
            signed = true;
            return new AccessResult(UrlToken.Verify(token, _keys, MacKeys, now, contentPath, client));
        }

        signed = false;
        contentPath = path;
        if (path.StartsWith(UrlToken.PathPrefixSegment, StringComparison.Ordinal))
        {
            // "/s/" with no token segment or an oversized one.
            return new AccessResult(TokenCheck.Malformed);
        }

        return new AccessResult(AllowsUnsigned(client) ? TokenCheck.Valid : TokenCheck.Missing);
    }

    /// <summary>The short reason a 403 carries for a failed check.</summary>
    public static string Reason(TokenCheck check) => check switch
    {
        TokenCheck.Missing => "playback token missing",
        TokenCheck.Malformed => "playback token malformed",
        TokenCheck.UnknownKey => "playback token signed by an unknown key or issued for other servers",
        TokenCheck.BadSignature => "playback token signature does not verify (tampered)",
        TokenCheck.Expired => "playback token expired",
        TokenCheck.WrongPath => "playback token does not cover this path",
        TokenCheck.WrongClient => "playback token was issued for another client network",
        _ => "allowed",
    };

    /// <summary>Whether <paramref name="text"/> is a base64 Ed25519 public key (32 bytes), as a key list in configuration holds.</summary>
    public static bool IsValidKey(string text)
    {
        try
        {
            Ed25519PublicKey.Parse(text);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}

/// <summary>The outcome of <see cref="PlaybackAccess.Check"/>.</summary>
public readonly record struct AccessResult(TokenCheck Check)
{
    public bool Allowed => Check == TokenCheck.Valid;

    public string Reason => PlaybackAccess.Reason(Check);
}

/// <summary>A list of IPv4/IPv6 network prefixes (<c>10.0.0.0/8</c>, <c>2001:db8::/32</c>).</summary>
public sealed class NetworkList
{
    private readonly (IPAddress Network, int Bits)[] _prefixes;

    private NetworkList((IPAddress, int)[] prefixes) => _prefixes = prefixes;

    public static NetworkList Empty { get; } = new([]);

    public int Count => _prefixes.Length;

    /// <summary>Parses prefixes; throws <see cref="FormatException"/> naming the bad one.</summary>
    public static NetworkList Parse(IEnumerable<string> prefixes)
    {
        var parsed = new List<(IPAddress, int)>();
        foreach (var text in prefixes)
        {
            if (!UrlToken.TryParsePrefix(text.Trim(), out var network, out var bits))
            {
                throw new FormatException($"'{text}' is not a network prefix such as 10.0.0.0/8 or 2001:db8::/32");
            }

            parsed.Add((network, bits));
        }

        return new NetworkList([.. parsed]);
    }

    /// <summary>Whether <paramref name="text"/> is a network prefix such as <c>10.0.0.0/8</c> or <c>2001:db8::/32</c>.</summary>
    public static bool IsValidPrefix(string text) => UrlToken.TryParsePrefix(text.Trim(), out _, out _);

    public bool Contains(IPAddress address)
    {
        foreach (var (network, bits) in _prefixes)
        {
            if (UrlToken.InPrefix(address, network, bits))
            {
                return true;
            }
        }

        return false;
    }
}
