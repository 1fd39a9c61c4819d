using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace OpenConnect.Origin.Storage;

/// <summary>
/// One complete upload of a title's package in the S3 store: its id (sortable by creation time), when
/// it was published, and the length of every file, relative to the title (<c>master.m3u8</c>,
/// <c>720p/seg-00001.m4s</c>). Written as the version's index object after all its files, so a
/// version with an index is complete; its files never change afterwards.
/// </summary>
internal sealed record PublishedVersion(
    [property: JsonPropertyName("version")] string Id,
    [property: JsonPropertyName("published")] DateTimeOffset Published,
    [property: JsonPropertyName("files")] IReadOnlyDictionary<string, long> Files)
{
    private const string TimeFormat = "yyyyMMdd'T'HHmmssfff'Z'";
    private const int TimeLength = 19;
    private const int IdLength = TimeLength + 1 + 12;

    public byte[] ToJsonBytes() => JsonSerializer.SerializeToUtf8Bytes(this);

    /// <summary>Parses an index object; a malformed one is reported with <paramref name="where"/>.</summary>
    public static PublishedVersion Parse(ReadOnlySpan<byte> json, string where)
    {
        try
        {
            var version = JsonSerializer.Deserialize<PublishedVersion>(json);
            if (version is null || !IsValidId(version.Id) || version.Files is null)
            {
                throw new InvalidDataException($"{where} is not a version index");
            }

            return version;
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{where} is not a version index: {ex.Message}", ex);
        }
    }

    /// <summary>A new version id: the creation time (UTC, to the millisecond) and 48 random bits, e.g. <c>20261207T201435123Z-3f9a0c1b2d4e</c>.</summary>
    public static string NewId(DateTimeOffset now) =>
        now.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture) + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    public static bool IsValidId(string? id) => CreatedAt(id) is not null;

    /// <summary>When a version id was made, or null when <paramref name="id"/> is not one.</summary>
    public static DateTimeOffset? CreatedAt(string? id)
    {
        if (id is null || id.Length != IdLength || id[TimeLength] != '-')
        {
            return null;
        }

        foreach (var c in id.AsSpan(TimeLength + 1))
        {
            if (!char.IsAsciiHexDigitLower(c))
            {
                return null;
            }
        }

        return DateTime.TryParseExact(id.AsSpan(0, TimeLength), TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time)
            ? new DateTimeOffset(time, TimeSpan.Zero)
            : null;
    }
}
