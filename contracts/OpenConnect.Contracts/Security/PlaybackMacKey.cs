using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace OpenConnect.Contracts.Security;

/// <summary>
/// One verifier's secret for v2 playback tokens: an HMAC-SHA256 key that steering derives for one
/// appliance (or for the origin) and hands to it alone. A v2 token carries one MAC per verifier it
/// names, so appliance X's key verifies (and could mint) tokens for X only: no appliance holds a
/// secret that lets it mint a token another appliance accepts.
/// </summary>
/// <remarks>
/// Keys are derived, not stored: <c>HMAC-SHA256(master, "appliance:" + id)</c> (or <c>"origin"</c>),
/// the master being <c>HMAC-SHA256(seed, "openconnect playback mac v2")</c> over steering's Ed25519
/// seed. Rotating steering's signing key therefore rotates every MAC key too, and any steering that
/// holds the same signing key derives the same keys. The <see cref="Tag"/> (the first 4 bytes of
/// the key's SHA-256) lets a verifier find its entry in a token without revealing anything usable.
/// </remarks>
public sealed class PlaybackMacKey
{
    /// <summary>Key length in bytes.</summary>
    public const int Length = 32;

    /// <summary>Length of the tag naming the key in a token entry.</summary>
    public const int TagLength = 4;

    /// <summary>Length of the truncated HMAC-SHA256 in a token entry (128 bits).</summary>
    public const int MacLength = 16;

    /// <summary>One token entry: tag then MAC.</summary>
    public const int EntryLength = TagLength + MacLength;

    /// <summary>The verifier name of the origin (no appliance may take it as its id).</summary>
    public const string OriginVerifier = "origin";

    private const string MasterLabel = "openconnect playback mac v2";

    private readonly byte[] _key;

    // The key's HMAC pads hashed once: an entry costs half the platform's one-shot HMAC, and stays
    // cheap for the keys of thousands of appliances used in turn (see PrecomputedHmacSha256).
    private readonly PrecomputedHmacSha256 _hmac;

    public PlaybackMacKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != Length)
        {
            throw new FormatException($"a playback MAC key is {Length} bytes, got {key.Length}");
        }

        _key = key.ToArray();
        _hmac = new PrecomputedHmacSha256(_key);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(_key, digest);
        Tag = BinaryPrimitives.ReadUInt32BigEndian(digest);
    }

    /// <summary>Names the key inside a token (not secret).</summary>
    public uint Tag { get; }

    /// <summary>The key bytes, for delivery to its verifier over an authenticated channel only.</summary>
    public ReadOnlySpan<byte> Bytes => _key;

    /// <summary>The key of <paramref name="verifier"/> (an appliance id, or <see cref="OriginVerifier"/>) under steering's signing key.</summary>
    public static PlaybackMacKey Derive(Ed25519SigningKey steeringKey, string verifier) => Derive(MasterOf(steeringKey), verifier);

    /// <summary>The master secret all verifier keys derive from (keep it where the signing key is).</summary>
    public static byte[] MasterOf(Ed25519SigningKey steeringKey) => steeringKey.DeriveSecret(MasterLabel);

    /// <summary>The key of <paramref name="verifier"/> under <paramref name="master"/>.</summary>
    public static PlaybackMacKey Derive(ReadOnlySpan<byte> master, string verifier)
    {
        var label = verifier == OriginVerifier ? OriginVerifier : "appliance:" + verifier;
        Span<byte> key = stackalloc byte[Length];
        HMACSHA256.HashData(master, Encoding.UTF8.GetBytes(label), key);
        return new PlaybackMacKey(key);
    }

    /// <summary>Parses the base64 form (as a key file holds); throws <see cref="FormatException"/>.</summary>
    public static PlaybackMacKey Parse(string base64)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(base64.Trim());
        }
        catch (FormatException ex)
        {
            throw new FormatException("a playback MAC key is the base64 of 32 bytes", ex);
        }

        return new PlaybackMacKey(bytes);
    }

    /// <summary>Reads a key file (base64, one line); throws <see cref="FormatException"/> naming the file when it is not one.</summary>
    public static PlaybackMacKey Load(string path)
    {
        try
        {
            return Parse(File.ReadAllText(path));
        }
        catch (FormatException ex)
        {
            throw new FormatException($"playback MAC key file '{path}': {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Writes the origin's key under <paramref name="steeringKey"/> to <paramref name="path"/> (what
    /// steering writes as <c>origin-playback-mac.key</c>) and returns the path: for setups that start
    /// the origin before steering.
    /// </summary>
    public static string WriteOriginKeyFile(Ed25519SigningKey steeringKey, string path)
    {
        Derive(steeringKey, OriginVerifier).Save(path);
        return path;
    }

    /// <summary>Why <paramref name="path"/> is not a readable key file, or null when it is one.</summary>
    public static string? DescribeFile(string path)
    {
        try
        {
            Load(path);
            return null;
        }
        catch (Exception ex) when (ex is FormatException or IOException or UnauthorizedAccessException)
        {
            return ex.Message;
        }
    }

    /// <summary>Writes the key (base64) to <paramref name="path"/> with owner-only permissions, through a temporary name.</summary>
    public void Save(string path) => SecretFile.Write(path, Convert.ToBase64String(_key), overwrite: true);

    /// <summary>Writes this key's token entry (tag and truncated MAC of <paramref name="payload"/>) to <paramref name="entry"/>.</summary>
    public void WriteEntry(ReadOnlySpan<byte> payload, Span<byte> entry)
    {
        BinaryPrimitives.WriteUInt32BigEndian(entry, Tag);
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        Compute(payload, mac);
        mac[..MacLength].CopyTo(entry[TagLength..]);
    }

    /// <summary>True when <paramref name="mac"/> is this key's truncated MAC of <paramref name="payload"/> (fixed-time comparison).</summary>
    public bool Verify(ReadOnlySpan<byte> payload, ReadOnlySpan<byte> mac)
    {
        Span<byte> expected = stackalloc byte[HMACSHA256.HashSizeInBytes];
        Compute(payload, expected);
        return mac.Length == MacLength && CryptographicOperations.FixedTimeEquals(expected[..MacLength], mac);
    }

    /// <summary>HMAC-SHA256 of <paramref name="payload"/> under this key into <paramref name="mac"/> (32 bytes).</summary>
    private void Compute(ReadOnlySpan<byte> payload, Span<byte> mac) => _hmac.Compute(payload, mac);
}

/// <summary>
/// The MAC keys a verifier holds: its current key and the one before it, so tokens issued just before
/// a rotation keep verifying. An appliance installs the key steering sends in each Register and
/// Heartbeat reply; the origin loads its key from a file. Readers never lock.
/// </summary>
public sealed class PlaybackMacKeyRing
{
    private volatile PlaybackMacKey[] _keys;

    public PlaybackMacKeyRing(params PlaybackMacKey[] keys) => _keys = keys.Length > 2 ? keys[..2] : keys;

    /// <summary>The keys in force, newest first (at most two).</summary>
    public IReadOnlyList<PlaybackMacKey> Keys => _keys;

    /// <summary>Makes <paramref name="key"/> current, keeping the previous current key; no change when it already is current.</summary>
    public void Install(PlaybackMacKey key)
    {
        var keys = _keys;
        if (keys.Length > 0 && keys[0].Bytes.SequenceEqual(key.Bytes))
        {
            return;
        }

        _keys = keys.Length == 0 ? [key] : [key, keys[0]];
    }

    /// <summary>True when one of the keys tagged <paramref name="tag"/> verifies <paramref name="mac"/>; <paramref name="known"/> tells whether any key has that tag.</summary>
    public bool Verify(uint tag, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> mac, out bool known)
    {
        known = false;
        foreach (var key in _keys)
        {
            if (key.Tag == tag)
            {
                known = true;
                if (key.Verify(payload, mac))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
