using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;

namespace OpenConnect.Contracts.Security;

/// <summary>
/// An Ed25519 private key with its key id. Held only by the services that sign: the origin
/// (integrity manifests) and steering (playback URLs). Appliances never hold one.
/// </summary>
public sealed class Ed25519SigningKey
{
    public const int SeedLength = 32;

    private readonly Ed25519PrivateKeyParameters _private;

    private Ed25519SigningKey(Ed25519PrivateKeyParameters key)
    {
        _private = key;
        PublicKey = new Ed25519PublicKey(_private.GeneratePublicKey().GetEncoded());
    }

    public Ed25519PublicKey PublicKey { get; }

    /// <summary>The key id, derived from the public key (see <see cref="Ed25519PublicKey.KeyId"/>).</summary>
    public string KeyId => PublicKey.KeyId;

    public static Ed25519SigningKey Generate()
    {
        var seed = RandomNumberGenerator.GetBytes(SeedLength);
        return FromSeed(seed);
    }

    public static Ed25519SigningKey FromSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != SeedLength)
        {
            throw new FormatException($"an Ed25519 private key is {SeedLength} bytes, got {seed.Length}");
        }

        return new Ed25519SigningKey(new Ed25519PrivateKeyParameters(seed.ToArray()));
    }

    /// <summary>
    /// Loads the key stored at <paramref name="path"/> (base64 of the 32-byte seed), creating it
    /// with owner-only permissions when it does not exist. The file is written to a temporary name
    /// and renamed, so a crash never leaves half a key.
    /// </summary>
    public static Ed25519SigningKey LoadOrCreate(string path)
    {
        if (File.Exists(path))
        {
            var text = File.ReadAllText(path).Trim();
            try
            {
                return FromSeed(Convert.FromBase64String(text));
            }
            catch (FormatException ex)
            {
                throw new FormatException($"signing key file '{path}' is not a base64 Ed25519 seed: {ex.Message}", ex);
            }
        }

        var key = Generate();
        SecretFile.Write(path, Convert.ToBase64String(key._private.GetEncoded()), overwrite: false);
        return key;
    }

    /// <summary>
    /// Writes the public key (base64, one line) to <paramref name="path"/> so operators and scripts can
    /// hand it to verifiers; written to a temporary name and renamed.
    /// </summary>
    public void WritePublicKeyFile(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, PublicKey + "\n");
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>
    /// A 32-byte secret derived from the seed for <paramref name="label"/> (HMAC-SHA256 keyed with the
    /// seed): secrets that must rotate with this key and live where it lives.
    /// </summary>
    public byte[] DeriveSecret(string label)
    {
        var seed = _private.GetEncoded();
        try
        {
            return HMACSHA256.HashData(seed, System.Text.Encoding.UTF8.GetBytes(label));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    public byte[] Sign(ReadOnlySpan<byte> message)
    {
        var signer = new Ed25519Signer();
        signer.Init(true, _private);
        signer.BlockUpdate(message);
        return signer.GenerateSignature();
    }
}

/// <summary>An Ed25519 public key; its id is the first 8 bytes of its SHA-256, in lower-case hex.</summary>
public sealed class Ed25519PublicKey
{
    public const int Length = 32;
    public const int SignatureLength = 64;

    private readonly Ed25519PublicKeyParameters _key;

    public Ed25519PublicKey(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length != Length)
        {
            throw new FormatException($"an Ed25519 public key is {Length} bytes, got {encoded.Length}");
        }

        Encoded = encoded.ToArray();
        try
        {
            _key = new Ed25519PublicKeyParameters(Encoded);
        }
        catch (ArgumentException ex)
        {
            // 32 bytes that are not a point on the curve: a damaged or made-up key, not a crash.
            throw new FormatException("not an Ed25519 public key: the 32 bytes are not a point on the curve", ex);
        }

        KeyId = Convert.ToHexStringLower(SHA256.HashData(Encoded).AsSpan(0, 8));
    }

    public byte[] Encoded { get; }

    public string KeyId { get; }

    /// <summary>The configuration form: <c>base64(key)</c>.</summary>
    public override string ToString() => Convert.ToBase64String(Encoded);

    public static Ed25519PublicKey Parse(string base64)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(base64.Trim());
        }
        catch (FormatException ex)
        {
            throw new FormatException($"'{base64}' is not a base64 Ed25519 public key", ex);
        }

        return new Ed25519PublicKey(bytes);
    }

    public bool Verify(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (signature.Length != SignatureLength)
        {
            return false;
        }

        var verifier = new Ed25519Signer();
        verifier.Init(false, _key);
        verifier.BlockUpdate(message);
        return verifier.VerifySignature(signature.ToArray());
    }
}

/// <summary>
/// The public keys a verifier trusts, by key id. Several keys may be trusted at once so a signer
/// can rotate: publish the new public key everywhere, then start signing with it, then retire the old.
/// </summary>
public sealed class PublicKeyRing
{
    private readonly Dictionary<string, Ed25519PublicKey> _keys;

    public PublicKeyRing(IEnumerable<Ed25519PublicKey> keys)
    {
        _keys = [];
        foreach (var key in keys)
        {
            _keys[key.KeyId] = key;
        }
    }

    public static PublicKeyRing Empty { get; } = new([]);

    public int Count => _keys.Count;

    public IEnumerable<Ed25519PublicKey> Keys => _keys.Values;

    /// <summary>Parses configured keys (each base64 of the 32-byte public key).</summary>
    public static PublicKeyRing Parse(IEnumerable<string> base64Keys) => new(base64Keys.Select(Ed25519PublicKey.Parse));

    public bool TryGet(string keyId, out Ed25519PublicKey key) => _keys.TryGetValue(keyId, out key!);

    /// <summary>True when <paramref name="keyId"/> is trusted and its key verifies the signature.</summary>
    public bool Verify(string keyId, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature) =>
        _keys.TryGetValue(keyId, out var key) && key.Verify(message, signature);
}

/// <summary>Writes secrets (keys) to files only their owner can read, through a temporary name, so a crash never leaves half a key.</summary>
internal static class SecretFile
{
    public static void Write(string path, string text, bool overwrite)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(text);
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite);
    }
}
