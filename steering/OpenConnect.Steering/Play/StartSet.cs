using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace OpenConnect.Steering.Play;

/// <summary>
/// One thing a player asks for first: its absolute URL and, for small text (the steered playlist or
/// MPD, a media playlist), the body itself, so the page need not fetch it.
/// </summary>
public sealed record StartResource(string Url, string? Body = null);

/// <summary>
/// Which files a player starting a title asks for first, worked out from the title's manifests the way
/// the web app's players choose (<c>web/src/player/start-config.js</c>): the start rendition is the
/// highest whose bitrate fits in <see cref="StartShare"/> of the page's throughput hint, the lowest
/// without one; the audio is the variant's default rendition (HLS) or the first audio adaptation set's
/// lowest representation (DASH); of each, the init segment and the first media segment. A wrong guess
/// costs the page one unused download, never a wrong answer: the page hands a player only what it
/// asked for by URL. Paths here are relative to the title (<c>r1/init.mp4</c>).
/// </summary>
public static class StartSet
{
    /// <summary>The share of the hinted throughput a start rendition may use (start-config.js <c>START_SHARE</c>).</summary>
    public const double StartShare = 0.5;

    /// <summary>Hints above this are not a throughput (start-config.js <c>MAX_BPS</c>).</summary>
    public const long MaxHintBps = 10_000_000_000;

    /// <summary>A playlist or MPD longer than this is listed by URL only (the page fetches it beside the rest).</summary>
    public const int MaxInlineChars = 256 * 1024;

    /// <summary>The hint in bits per second from <c>?bps=</c>: null when absent or not a plausible number.</summary>
    public static long? ParseHint(string? text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var bps) && bps is > 0 and <= MaxHintBps ? bps : null;

    /// <summary>
    /// The index (into <paramref name="bitrates"/>, any order) of the start rendition: the highest bitrate
    /// within <see cref="StartShare"/> of <paramref name="hintBps"/>, else the lowest; -1 for none.
    /// </summary>
    public static int ChooseIndex(IReadOnlyList<long> bitrates, long? hintBps)
    {
        var lowest = -1;
        var best = -1;
        for (var i = 0; i < bitrates.Count; i++)
        {
            if (lowest < 0 || bitrates[i] < bitrates[lowest])
            {
                lowest = i;
            }

            if (hintBps is { } hint && bitrates[i] <= hint * StartShare && (best < 0 || bitrates[i] > bitrates[best]))
            {
                best = i;
            }
        }

        return best >= 0 ? best : lowest;
    }

    /// <summary>
    /// The start variant's media playlist and its default audio rendition's (relative URIs as the
    /// multivariant playlist gives them), or null when a player's choice cannot be foreseen: variants of
    /// more than one video codec (the player keeps those the browser decodes).
    /// </summary>
    public static (string Video, string? Audio)? HlsPlaylists(HlsMultivariant playlist, long? hintBps)
    {
        var families = playlist.Variants.Select(v => VideoCodecFamily(v.Attributes.Get("CODECS"))).Distinct(StringComparer.Ordinal).Count();
        if (families != 1)
        {
            return null;
        }

        var bitrates = playlist.Variants.Select(v => long.TryParse(v.Attributes.Get("BANDWIDTH"), NumberStyles.None, CultureInfo.InvariantCulture, out var b) ? b : 0).ToArray();
        var (attributes, uri) = playlist.Variants[ChooseIndex(bitrates, hintBps)];
        string? audio = null;
        if (attributes.Get("AUDIO") is { } group)
        {
            var renditions = playlist.Media.Where(m => m.Get("TYPE") == "AUDIO" && m.Get("GROUP-ID") == group && m.Get("URI") is not null).ToArray();
            audio = (renditions.FirstOrDefault(m => m.Get("DEFAULT") == "YES") ?? renditions.FirstOrDefault())?.Get("URI");
        }

        return (uri, audio);
    }

    /// <summary>
    /// The init segment (<c>EXT-X-MAP</c>) and first media segment of a media playlist, relative to it;
    /// null for either when absent or a byte range (the start set holds whole files only).
    /// </summary>
    public static (string? Init, string? First) HlsFirstFiles(string mediaPlaylist)
    {
        string? init = null;
        var ranged = false;
        foreach (var raw in mediaPlaylist.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith("#EXT-X-MAP:", StringComparison.Ordinal))
            {
                var map = HlsAttributeList.Parse(line["#EXT-X-MAP:".Length..]);
                init = map.Get("BYTERANGE") is null ? map.Get("URI") : null;
            }
            else if (line.StartsWith("#EXT-X-BYTERANGE", StringComparison.Ordinal))
            {
                ranged = true;
            }
            else if (line.Length > 0 && line[0] != '#')
            {
                return (init, ranged ? null : line);
            }
        }

        return (init, null);
    }

    /// <summary>
    /// The init and first media segment of the start video representation and of the first audio
    /// adaptation set's lowest representation, relative to the MPD's base; empty when the MPD is not
    /// one this reads (no SegmentTemplate, more than one video adaptation set, its own BaseURLs).
    /// </summary>
    public static IReadOnlyList<string> DashFirstFiles(string mpd, long? hintBps)
    {
        XElement? root;
        try
        {
            using var reader = XmlReader.Create(new StringReader(mpd), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null });
            root = XDocument.Load(reader).Root;
        }
        catch (XmlException)
        {
            return [];
        }

        var period = root?.Elements().FirstOrDefault(e => e.Name.LocalName == "Period");
        if (period is null || period.Descendants().Any(e => e.Name.LocalName == "BaseURL"))
        {
            return [];
        }

        var sets = period.Elements().Where(e => e.Name.LocalName == "AdaptationSet").ToArray();
        var video = sets.Where(s => ContentType(s) == "video").ToArray();
        if (video.Length != 1)
        {
            return [];
        }

        var files = new List<string>();
        var chosenSets = new List<(XElement Set, long? Hint)> { (video[0], hintBps) };
        if (sets.FirstOrDefault(s => ContentType(s) == "audio") is { } audio)
        {
            chosenSets.Add((audio, null));
        }

        foreach (var (set, hint) in chosenSets)
        {
            var representations = set.Elements().Where(e => e.Name.LocalName == "Representation").ToArray();
            var bandwidths = representations.Select(r => long.TryParse((string?)r.Attribute("bandwidth"), NumberStyles.None, CultureInfo.InvariantCulture, out var b) ? b : 0).ToArray();
            if (representations.Length == 0)
            {
                return [];
            }

            var chosen = representations[ChooseIndex(bandwidths, hint)];
            var template = chosen.Elements().FirstOrDefault(e => e.Name.LocalName == "SegmentTemplate")
                ?? set.Elements().FirstOrDefault(e => e.Name.LocalName == "SegmentTemplate");
            if (template is null || (string?)template.Attribute("media") is not { } media || (string?)template.Attribute("initialization") is not { } initialization)
            {
                return [];
            }

            var number = long.TryParse((string?)template.Attribute("startNumber"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 1;
            var first = template.Elements().FirstOrDefault(e => e.Name.LocalName == "SegmentTimeline")?.Elements().FirstOrDefault();
            var time = long.TryParse((string?)first?.Attribute("t"), NumberStyles.None, CultureInfo.InvariantCulture, out var t) ? t : 0;
            var id = (string?)chosen.Attribute("id") ?? "";
            var bandwidth = (string?)chosen.Attribute("bandwidth") ?? "";
            files.Add(ExpandTemplate(initialization, id, bandwidth, null, null));
            files.Add(ExpandTemplate(media, id, bandwidth, number, time));
        }

        return files;
    }

    /// <summary>
    /// A DASH template with its identifiers filled in (<c>$RepresentationID$</c>, <c>$Bandwidth$</c>,
    /// <c>$Number$</c> and <c>$Time$</c>, each with an optional <c>%0Nd</c> width, and <c>$$</c>).
    /// </summary>
    public static string ExpandTemplate(string template, string representationId, string bandwidth, long? number, long? time)
    {
        var parts = template.Split('$');
        var sb = new System.Text.StringBuilder(template.Length + 16);
        for (var i = 0; i < parts.Length; i++)
        {
            if (i % 2 == 0)
            {
                sb.Append(parts[i]);
                continue;
            }

            var token = parts[i];
            var percent = token.IndexOf('%', StringComparison.Ordinal);
            var name = percent < 0 ? token : token[..percent];
            var width = percent >= 0 && token.EndsWith('d') && int.TryParse(token.AsSpan(percent + 1, token.Length - percent - 2), NumberStyles.None, CultureInfo.InvariantCulture, out var w) ? w : 0;
            string? value = name switch
            {
                "" => "$",
                "RepresentationID" => representationId,
                "Bandwidth" => bandwidth,
                "Number" => number?.ToString(CultureInfo.InvariantCulture),
                "Time" => time?.ToString(CultureInfo.InvariantCulture),
                _ => null,
            };
            sb.Append(value is null ? "$" + token + "$" : value.PadLeft(width, '0'));
        }

        return sb.ToString();
    }

    /// <summary>
    /// Whether <paramref name="path"/> is a file of the title's package a start set may name: relative,
    /// no parent steps or query, the characters the packager writes.
    /// </summary>
    public static bool IsPackagePath(string path) =>
        path.Length is > 0 and <= 200 && path[0] != '/' && !path.Contains("..", StringComparison.Ordinal)
        && path.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '-' or '_');

    private static string? ContentType(XElement set)
    {
        if ((string?)set.Attribute("contentType") is { } type)
        {
            return type;
        }

        var mime = (string?)set.Attribute("mimeType") ?? (string?)set.Elements().FirstOrDefault(e => e.Name.LocalName == "Representation")?.Attribute("mimeType");
        return mime?.Split('/')[0];
    }

    // "avc1.64001f,mp4a.40.2" → "avc1"; the audio codecs are left out (one audio group for all).
    private static string VideoCodecFamily(string? codecs) =>
        (codecs ?? "").Split(',', StringSplitOptions.TrimEntries).Select(c => c.Split('.')[0])
            .FirstOrDefault(c => c is not ("mp4a" or "ac-3" or "ec-3" or "opus" or "flac" or "fLaC")) switch
        {
            "avc3" => "avc1",
            "hev1" => "hvc1",
            { } family => family,
            null => "",
        };
}
