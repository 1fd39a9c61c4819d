using System.Text;

namespace OpenConnect.Origin.Ingest;

/// <summary>
/// Parses <c>Upload-Metadata</c>: comma-separated <c>key base64value</c> pairs (the value may be
/// absent), keys unique, non-empty and free of spaces and commas, values valid base64 of UTF-8 text.
/// The <c>protected</c> key, when present, is <c>true</c> or <c>false</c> (a protected title is
/// packaged encrypted).
/// </summary>
public static class UploadMetadata
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Returns null on success with the pairs in <paramref name="metadata"/>, otherwise what is wrong.</summary>
    public static string? TryParse(string? header, out Dictionary<string, string> metadata)
    {
        metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(header))
        {
            return null;
        }

        foreach (var rawPair in header.Split(','))
        {
            var pair = rawPair.Trim(' ');
            if (pair.Length == 0)
            {
                return "Upload-Metadata has an empty pair";
            }

            var space = pair.IndexOf(' ');
            var key = space < 0 ? pair : pair[..space];
            var encoded = space < 0 ? "" : pair[(space + 1)..];
            if (encoded.Contains(' '))
            {
                return $"Upload-Metadata pair '{key}' has more than one space-separated value";
            }

            foreach (var c in key)
            {
                if (c <= ' ' || c > '~')
                {
                    return "Upload-Metadata keys must be printable ASCII without spaces";
                }
            }

            if (metadata.ContainsKey(key))
            {
                return $"Upload-Metadata key '{key}' appears twice";
            }

            var bytes = new byte[(encoded.Length * 3 / 4) + 3];
            if (encoded.Length % 4 != 0 || !Convert.TryFromBase64String(encoded, bytes, out var written))
            {
                return $"Upload-Metadata value of '{key}' is not valid base64";
            }

            try
            {
                metadata[key] = StrictUtf8.GetString(bytes, 0, written);
            }
            catch (DecoderFallbackException)
            {
                return $"Upload-Metadata value of '{key}' is not UTF-8 text";
            }
        }

        if (metadata.TryGetValue(Pipeline.TitleRecord.ProtectedKey, out var isProtected) && isProtected is not ("true" or "false"))
        {
            return $"Upload-Metadata value of '{Pipeline.TitleRecord.ProtectedKey}' must be true or false, not '{isProtected}'";
        }

        return null;
    }
}
