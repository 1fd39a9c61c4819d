using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using OpenConnect.Contracts.Security;

namespace OpenConnect.Contracts.Content;

/// <summary>
/// The integrity manifest a title publishes at <c>/v/{title}/integrity.json</c>: the size and
/// SHA-256 of every file of the title, keyed by the path below the title (<c>720p/seg-00001.m4s</c>,
/// <c>master.m3u8</c>), a Merkle root per rendition, and the origin's Ed25519 signature over all of
/// it. Appliances verify pulled and filled objects against it before admitting them to the SSD tier.
/// </summary>
/// <remarks>
/// The signature covers a canonical text, not the JSON bytes, so re-serialising the manifest never
/// breaks it: <c>openconnect-integrity-v1\n{titleId}\n</c>, then one line per file in ordinal order
/// (<c>file {path} {size} {sha256}\n</c>), then one per rendition (<c>rendition {name} {root}\n</c>).
/// A rendition's Merkle root hashes its files in ordinal path order: leaves are
/// <c>SHA-256(0x00 ‖ path ‖ 0x00 ‖ digest)</c>, inner nodes <c>SHA-256(0x01 ‖ left ‖ right)</c>, an
/// odd node is carried up unchanged.
/// </remarks>
public sealed record IntegrityManifest
{
    public const string FileName = "integrity.json";
    private const string CanonicalHeader = "openconnect-integrity-v1";

    [JsonPropertyName("titleId")]
    public required string TitleId { get; init; }

    [JsonPropertyName("algorithm")]
    public string Algorithm { get; init; } = "sha256";

    /// <summary>Size and lower-case hex SHA-256 per file path relative to the title.</summary>
    [JsonPropertyName("files")]
    public required IReadOnlyDictionary<string, IntegrityEntry> Files { get; init; }

    /// <summary>Merkle root (lower-case hex) of each rendition's files.</summary>
    [JsonPropertyName("renditions")]
    public IReadOnlyDictionary<string, string> Renditions { get; init; } = new Dictionary<string, string>();

    /// <summary>Id of the origin key that signed the manifest (see <see cref="Ed25519PublicKey.KeyId"/>).</summary>
    [JsonPropertyName("keyId")]
    public string? KeyId { get; init; }

    /// <summary>Base64 Ed25519 signature over <see cref="CanonicalText"/>.</summary>
    [JsonPropertyName("signature")]
    public string? Signature { get; init; }

    public static string PathFor(string titleId) => ContentKey.ForTitleFile(titleId, FileName).Path;

    /// <summary>Builds and signs the manifest of a title from its files (path below the title → entry).</summary>
    public static IntegrityManifest Create(string titleId, IReadOnlyDictionary<string, IntegrityEntry> files, Ed25519SigningKey key)
    {
        var unsigned = new IntegrityManifest
        {
            TitleId = titleId,
            Files = new SortedDictionary<string, IntegrityEntry>(files.ToDictionary(), StringComparer.Ordinal),
            Renditions = ComputeRenditionRoots(files),
            KeyId = key.KeyId,
        };
        return unsigned with { Signature = Convert.ToBase64String(key.Sign(Encoding.UTF8.GetBytes(unsigned.CanonicalText()))) };
    }

    /// <summary>The expected digest of <paramref name="key"/>, or null when the manifest does not list it.</summary>
    public byte[]? ExpectedSha256(ContentKey key) => Find(key) is { } entry ? Convert.FromHexString(entry.Sha256) : null;

    /// <summary>The manifest's entry for <paramref name="key"/>, or null when it does not list it.</summary>
    public IntegrityEntry? Find(ContentKey key)
    {
        var relative = key.Rendition is null ? key.FileName : $"{key.Rendition}/{key.FileName}";
        return Files.TryGetValue(relative, out var entry) ? entry : null;
    }

    /// <summary>True when the manifest is signed by a key in <paramref name="keys"/> and the signature verifies.</summary>
    public bool IsSignedBy(PublicKeyRing keys) => CheckSignature(keys) == ManifestSignature.Valid;

    /// <summary>Whether the manifest carries a valid signature by a key in <paramref name="keys"/>, and if not, why.</summary>
    public ManifestSignature CheckSignature(PublicKeyRing keys)
    {
        if (string.IsNullOrEmpty(KeyId) || string.IsNullOrEmpty(Signature))
        {
            return ManifestSignature.Unsigned;
        }

        if (!keys.TryGet(KeyId, out _))
        {
            return ManifestSignature.UnknownKey;
        }

        byte[] signature;
        try
        {
            signature = Convert.FromBase64String(Signature);
        }
        catch (FormatException)
        {
            return ManifestSignature.BadSignature;
        }

        return keys.Verify(KeyId, Encoding.UTF8.GetBytes(CanonicalText()), signature) ? ManifestSignature.Valid : ManifestSignature.BadSignature;
    }

    /// <summary>The text the signature covers (see the remarks on the type).</summary>
    public string CanonicalText()
    {
        var text = new StringBuilder(64 + (Files.Count * 100));
        text.Append(CanonicalHeader).Append('\n').Append(TitleId).Append('\n');
        foreach (var path in Files.Keys.Order(StringComparer.Ordinal))
        {
            var entry = Files[path];
            text.Append("file ").Append(path).Append(' ').Append(entry.Size.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(entry.Sha256).Append('\n');
        }

        foreach (var rendition in Renditions.Keys.Order(StringComparer.Ordinal))
        {
            text.Append("rendition ").Append(rendition).Append(' ').Append(Renditions[rendition]).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>The Merkle root of each rendition (files with a <c>{rendition}/</c> prefix).</summary>
    public static IReadOnlyDictionary<string, string> ComputeRenditionRoots(IReadOnlyDictionary<string, IntegrityEntry> files)
    {
        var roots = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var group in files.Where(f => f.Key.Contains('/')).GroupBy(f => f.Key[..f.Key.IndexOf('/')], StringComparer.Ordinal))
        {
            var level = group.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => Leaf(f.Key, f.Value.Sha256)).ToList();
            while (level.Count > 1)
            {
                var next = new List<byte[]>((level.Count + 1) / 2);
                for (var i = 0; i < level.Count; i += 2)
                {
                    next.Add(i + 1 < level.Count ? Node(level[i], level[i + 1]) : level[i]);
                }

                level = next;
            }

            roots[group.Key] = Convert.ToHexStringLower(level[0]);
        }

        return roots;
    }

    /// <summary>
    /// Parses the manifest served at <paramref name="titleId"/>'s path and accepts it only when it is that
    /// title's (a valid manifest of another title, replayed at this path, would vouch for its bodies) and,
    /// when <paramref name="trustedKeys"/> lists keys, signed by one of them. Throws
    /// <see cref="FormatException"/> with the reason otherwise.
    /// </summary>
    public static IntegrityManifest ParseFor(string titleId, ReadOnlySpan<byte> json, PublicKeyRing trustedKeys)
    {
        var manifest = Parse(json);
        if (!string.Equals(manifest.TitleId, titleId, StringComparison.Ordinal))
        {
            throw new FormatException($"the integrity manifest served for {titleId} is the manifest of '{manifest.TitleId}'");
        }

        if (trustedKeys.Count > 0)
        {
            switch (manifest.CheckSignature(trustedKeys))
            {
                case ManifestSignature.Unsigned:
                    throw new FormatException($"the integrity manifest of {titleId} is not signed");
                case ManifestSignature.UnknownKey:
                    throw new FormatException($"the integrity manifest of {titleId} is signed by key id '{manifest.KeyId}', which is not a trusted origin key");
                case ManifestSignature.BadSignature:
                    throw new FormatException($"the integrity manifest of {titleId} has a signature that does not verify with origin key '{manifest.KeyId}'");
            }
        }

        return manifest;
    }

    /// <summary>Parses a manifest and checks its shape and Merkle roots; throws <see cref="FormatException"/> with the reason when it is not valid. The signature is checked separately (<see cref="IsSignedBy"/>).</summary>
    public static IntegrityManifest Parse(ReadOnlySpan<byte> json)
    {
        IntegrityManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<IntegrityManifest>(json);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"integrity manifest is not valid JSON: {ex.Message}", ex);
        }

        if (manifest is null || manifest.Algorithm != "sha256")
        {
            throw new FormatException("integrity manifest must use algorithm sha256");
        }

        foreach (var (path, entry) in manifest.Files)
        {
            if (entry is null || entry.Sha256 is not { Length: 64 } hex || !hex.All(char.IsAsciiHexDigit) || entry.Size < 0)
            {
                throw new FormatException($"integrity manifest entry '{path}' is not a size and a SHA-256 hex digest");
            }
        }

        var roots = ComputeRenditionRoots(manifest.Files);
        if (roots.Count != manifest.Renditions.Count || roots.Any(r => !manifest.Renditions.TryGetValue(r.Key, out var given) || !string.Equals(given, r.Value, StringComparison.OrdinalIgnoreCase)))
        {
            throw new FormatException("integrity manifest rendition Merkle roots do not match its files");
        }

        return manifest;
    }

    public byte[] ToJsonBytes() => JsonSerializer.SerializeToUtf8Bytes(this, new JsonSerializerOptions { WriteIndented = true });

    private static byte[] Leaf(string path, string sha256Hex)
    {
        var pathBytes = Encoding.UTF8.GetBytes(path);
        var buffer = new byte[1 + pathBytes.Length + 1 + 32];
        buffer[0] = 0x00;
        pathBytes.CopyTo(buffer, 1);
        buffer[1 + pathBytes.Length] = 0x00;
        Convert.FromHexString(sha256Hex).CopyTo(buffer, 2 + pathBytes.Length);
        return SHA256.HashData(buffer);
    }

    private static byte[] Node(byte[] left, byte[] right)
    {
        var buffer = new byte[65];
        buffer[0] = 0x01;
        left.CopyTo(buffer, 1);
        right.CopyTo(buffer, 33);
        return SHA256.HashData(buffer);
    }
}

/// <summary>One file of a title: its size in bytes and lower-case hex SHA-256.</summary>
public sealed record IntegrityEntry([property: JsonPropertyName("size")] long Size, [property: JsonPropertyName("sha256")] string Sha256);

/// <summary>The outcome of checking a manifest's signature against the trusted origin keys.</summary>
public enum ManifestSignature
{
    /// <summary>Signed by a trusted key, and the signature verifies.</summary>
    Valid,
    /// <summary>No key id or no signature.</summary>
    Unsigned,
    /// <summary>Signed by a key that is not trusted.</summary>
    UnknownKey,
    /// <summary>Names a trusted key, but the signature does not verify (tampered manifest or forged signature).</summary>
    BadSignature,
}
