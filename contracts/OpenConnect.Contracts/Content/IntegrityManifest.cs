using System.Text.Json;
using System.Text.Json.Serialization;

namespace OpenConnect.Contracts.Content;

/// <summary>
/// The integrity manifest a title publishes at <c>/v/{title}/integrity.json</c>: the SHA-256 of every
/// file of the title, keyed by the path below the title (<c>720p/seg-00001.m4s</c>,
/// <c>master.m3u8</c>). Appliances verify pulled and filled objects against it before admitting
/// them to the SSD tier.
/// </summary>
public sealed record IntegrityManifest
{
    public const string FileName = "integrity.json";

    [JsonPropertyName("titleId")]
    public required string TitleId { get; init; }

    [JsonPropertyName("algorithm")]
    public string Algorithm { get; init; } = "sha256";

    /// <summary>Lower-case hex SHA-256 per file path relative to the title.</summary>
    [JsonPropertyName("files")]
    public required IReadOnlyDictionary<string, string> Files { get; init; }

    public static string PathFor(string titleId) => ContentKey.ForTitleFile(titleId, FileName).Path;

    /// <summary>The expected digest of <paramref name="key"/>, or null when the manifest does not list it.</summary>
    public byte[]? ExpectedSha256(ContentKey key)
    {
        var relative = key.Rendition is null ? key.FileName : $"{key.Rendition}/{key.FileName}";
        return Files.TryGetValue(relative, out var hex) && hex.Length == 64 ? Convert.FromHexString(hex) : null;
    }

    /// <summary>Parses a manifest; throws <see cref="FormatException"/> with the reason when it is not one.</summary>
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

        foreach (var (path, hex) in manifest.Files)
        {
            if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
            {
                throw new FormatException($"integrity manifest entry '{path}' is not a SHA-256 hex digest");
            }
        }

        return manifest;
    }
}
