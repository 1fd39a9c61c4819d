using System.Buffers.Text;
using System.Text.Json;

namespace OpenConnect.Origin.Protection;

/// <summary>
/// The EME ClearKey license request a CDM emits (<c>{"kids":["&lt;base64url KID&gt;"],"type":"temporary"}</c>,
/// W3C Encrypted Media Extensions §9.1.3) and the license that answers it.
/// </summary>
public static class LicenseRequest
{
    /// <summary>Key ids one request may ask for; a title has one, a CDM asks for the ones it met.</summary>
    public const int MaxKeyIds = 32;

    public const string TemporaryType = "temporary";

    /// <summary>
    /// Parses a request body into the key ids it asks for. False with <paramref name="error"/> (a
    /// message for a 400) when it is not JSON, has no <c>kids</c>, a key id is not base64url of 16
    /// bytes, or it asks for another session type than <c>temporary</c>.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> body, out List<byte[]> keyIds, out string error)
    {
        keyIds = [];
        error = "";
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { MaxDepth = 4 });
        }
        catch (JsonException)
        {
            error = "the body is not JSON; expected {\"kids\":[\"<base64url key id>\"],\"type\":\"temporary\"}";
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "the body must be a JSON object with a \"kids\" array";
                return false;
            }

            if (root.TryGetProperty("type", out var type) && (type.ValueKind != JsonValueKind.String || type.GetString() != TemporaryType))
            {
                error = "only \"type\":\"temporary\" licenses are issued";
                return false;
            }

            if (!root.TryGetProperty("kids", out var kids) || kids.ValueKind != JsonValueKind.Array || kids.GetArrayLength() == 0)
            {
                error = "\"kids\" must be a non-empty array of base64url key ids";
                return false;
            }

            if (kids.GetArrayLength() > MaxKeyIds)
            {
                error = $"at most {MaxKeyIds} key ids per request";
                return false;
            }

            foreach (var kid in kids.EnumerateArray())
            {
                if (!TryDecodeKeyId(kid, out var bytes))
                {
                    error = $"key id {kid.GetRawText()} is not the base64url of 16 bytes";
                    keyIds = [];
                    return false;
                }

                keyIds.Add(bytes);
            }

            return true;
        }
    }

    /// <summary>The license JSON for <paramref name="keys"/> (key ids and keys base64url without padding).</summary>
    public static byte[] WriteLicense(IReadOnlyList<TitleKey> keys)
    {
        using var buffer = new MemoryStream(64 + (keys.Count * 80));
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("keys");
            foreach (var key in keys)
            {
                writer.WriteStartObject();
                writer.WriteString("kty", "oct");
                writer.WriteString("kid", Base64Url.EncodeToString(key.KeyId));
                writer.WriteString("k", Base64Url.EncodeToString(key.Key));
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteString("type", TemporaryType);
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static bool TryDecodeKeyId(JsonElement kid, out byte[] bytes)
    {
        bytes = [];
        if (kid.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        var text = kid.GetString()!;

        // Base64url of 16 bytes is 22 characters (24 padded, which EME does not send but is harmless);
        // "+" and "/" belong to plain base64 and are refused.
        if (text.Length is not (22 or 24) || !Base64Url.IsValid(text.AsSpan(), out var length) || length != TitleKeyStore.KeyLength)
        {
            return false;
        }

        bytes = Base64Url.DecodeFromChars(text);
        return true;
    }
}
