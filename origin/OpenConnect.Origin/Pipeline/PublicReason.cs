using System.Text.RegularExpressions;

namespace OpenConnect.Origin.Pipeline;

/// <summary>
/// Turns a rejection or failure reason as the pipeline records it into what users are shown: the
/// sentence that says what is wrong, without tool output (ffprobe/ffmpeg messages, exception text)
/// and without absolute paths. The full reason stays in the pipeline database and the origin's
/// log (events 3xxx and 4003).
/// </summary>
/// <remarks>
/// Done where the API answers rather than where reasons are made (<see cref="SourceProbe"/>, the
/// worker, ingest), so the log and the database keep the details operators need.
/// </remarks>
internal static partial class PublicReason
{
    public const int MaxLength = 300;

    /// <summary>
    /// Where tool output or exception text starts. A kept marker ends the public text (without its
    /// trailing punctuation); a dropped one is cut off with everything after it.
    /// </summary>
    private static readonly (string Marker, bool Keep)[] OutputMarkers =
    [
        ("ffprobe could not parse it", true),
        ("cannot be decoded:", true),
        ("ffmpeg failed:", true),
        ("internal error:", true),
        ("submission failed:", true),
        ("ffmpeg version", false),
        ("ffprobe version", false),
        (" | ", false),
        ("\n", false),
    ];

    public static string? Of(string? reason)
    {
        if (string.IsNullOrEmpty(reason))
        {
            return reason;
        }

        var text = reason;
        foreach (var (marker, keep) in OutputMarkers)
        {
            var at = text.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0)
            {
                text = text[..(keep ? at + marker.Length : at)].TrimEnd(' ', ':', '(', '|', '\r', '\n');
            }
        }

        text = AbsolutePath().Replace(text, "(path)");
        text = text.Trim();
        return text.Length > MaxLength ? text[..MaxLength] + "…" : text;
    }

    /// <summary>A Unix path (a slash not inside a word, e.g. not the one in <c>encode/0</c>) or a Windows drive path.</summary>
    [GeneratedRegex(@"(?<![\w.\-/])/[^\s'""(),;|]+|\b[A-Za-z]:\\[^\s'""(),;|]*", RegexOptions.CultureInvariant)]
    private static partial Regex AbsolutePath();
}
