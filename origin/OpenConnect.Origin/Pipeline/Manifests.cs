using System.Globalization;
using System.Text;
using System.Xml.Linq;
using OpenConnect.Origin.Pipeline.Cenc;

namespace OpenConnect.Origin.Pipeline;

/// <summary>One CMAF segment of a rendition.</summary>
public sealed record Segment(string File, double Duration, long Bytes);

/// <summary>A packaged rendition (a folder of <c>init.mp4</c> + <c>seg-NNNNN.m4s</c>).</summary>
public sealed record PackagedTrack(string Name, bool IsVideo, string Codec, string Codecs, int Width, int Height, double FrameRate, int BitrateKbps, IReadOnlyList<Segment> Segments)
{
    public double Duration => Segments.Sum(s => s.Duration);

    /// <summary>Highest bit rate of any one segment (bit/s).</summary>
    public long PeakBandwidth => Segments.Count == 0 ? 0 : (long)Math.Ceiling(Segments.Max(s => s.Bytes * 8 / Math.Max(s.Duration, 0.001)));

    /// <summary>Bit rate over the whole rendition (bit/s).</summary>
    public long AverageBandwidth => (long)Math.Ceiling(Segments.Sum(s => s.Bytes) * 8 / Math.Max(Duration, 0.001));
}

/// <summary>
/// Writes the playlists and the MPD for one set of CMAF segments: VOD media playlists per
/// rendition, the HLS multivariant playlist with an audio group, and a static DASH MPD whose
/// SegmentTemplate points at the same files. Every URI is relative to the file that holds it.
/// A protected title's manifests also carry its key signalling (<see cref="CencSignalling"/>):
/// <c>EXT-X-KEY</c> in each media playlist, <c>EXT-X-SESSION-KEY</c> in the multivariant playlist
/// and <c>ContentProtection</c> in each AdaptationSet.
/// </summary>
public static class Manifests
{
    public const string AudioGroup = "aud";

    /// <summary>Parses the segment list (EXTINF + URI) of a media playlist written by ffmpeg's HLS muxer.</summary>
    public static List<(string File, double Duration)> ParseMediaPlaylist(string text)
    {
        var segments = new List<(string, double)>();
        double? duration = null;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith("#EXTINF:", StringComparison.Ordinal))
            {
                var value = line["#EXTINF:".Length..].Split(',')[0];
                duration = double.Parse(value, CultureInfo.InvariantCulture);
            }
            else if (line.Length > 0 && line[0] != '#' && duration is { } d)
            {
                segments.Add((line, d));
                duration = null;
            }
        }

        return segments;
    }

    public static string MediaPlaylist(PackagedTrack track, CencSignalling? protection = null)
    {
        var target = Math.Max(1, (int)Math.Round(track.Segments.Max(s => s.Duration), MidpointRounding.AwayFromZero));
        var text = new StringBuilder();
        text.Append("#EXTM3U\n#EXT-X-VERSION:7\n");
        text.Append(CultureInfo.InvariantCulture, $"#EXT-X-TARGETDURATION:{target}\n");
        text.Append("#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n");
        foreach (var key in protection?.HlsKeyAttributes() ?? [])
        {
            text.Append(CultureInfo.InvariantCulture, $"#EXT-X-KEY:{key}\n");
        }

        text.Append("#EXT-X-MAP:URI=\"init.mp4\"\n");
        foreach (var segment in track.Segments)
        {
            text.Append(CultureInfo.InvariantCulture, $"#EXTINF:{segment.Duration:0.000000},\n{segment.File}\n");
        }

        text.Append("#EXT-X-ENDLIST\n");
        return text.ToString();
    }

    public static string MultivariantPlaylist(IReadOnlyList<PackagedTrack> video, PackagedTrack? audio, CencSignalling? protection = null)
    {
        var text = new StringBuilder();
        text.Append("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n");
        foreach (var key in protection?.HlsKeyAttributes() ?? [])
        {
            text.Append(CultureInfo.InvariantCulture, $"#EXT-X-SESSION-KEY:{key}\n");
        }

        if (audio is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $"#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"{AudioGroup}\",NAME=\"default\",LANGUAGE=\"und\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\",URI=\"{audio.Name}/index.m3u8\"\n");
        }

        foreach (var track in video)
        {
            var peak = track.PeakBandwidth + (audio?.PeakBandwidth ?? 0);
            var average = track.AverageBandwidth + (audio?.AverageBandwidth ?? 0);
            var codecs = audio is null ? track.Codecs : $"{track.Codecs},{audio.Codecs}";
            text.Append(CultureInfo.InvariantCulture, $"#EXT-X-STREAM-INF:BANDWIDTH={peak},AVERAGE-BANDWIDTH={average},CODECS=\"{codecs}\",RESOLUTION={track.Width}x{track.Height},FRAME-RATE={track.FrameRate:0.000}");
            if (audio is not null)
            {
                text.Append(CultureInfo.InvariantCulture, $",AUDIO=\"{AudioGroup}\"");
            }

            text.Append(CultureInfo.InvariantCulture, $"\n{track.Name}/index.m3u8\n");
        }

        return text.ToString();
    }

    public static string Mpd(IReadOnlyList<PackagedTrack> video, PackagedTrack? audio, int segmentSeconds, CencSignalling? protection = null)
    {
        XNamespace ns = "urn:mpeg:dash:schema:mpd:2011";
        var duration = video.Max(v => v.Duration);
        var period = new XElement(ns + "Period", new XAttribute("id", "0"), new XAttribute("start", "PT0S"));
        var setId = 0;
        foreach (var group in video.GroupBy(v => v.Codec))
        {
            var set = new XElement(
                ns + "AdaptationSet",
                new XAttribute("id", setId++),
                new XAttribute("contentType", "video"),
                new XAttribute("mimeType", "video/mp4"),
                new XAttribute("segmentAlignment", "true"),
                new XAttribute("startWithSAP", "1"),
                new XAttribute("maxWidth", group.Max(v => v.Width)),
                new XAttribute("maxHeight", group.Max(v => v.Height)),
                new XAttribute("par", Par(group.First())),
                protection?.DashContentProtection(ns));
            foreach (var track in group)
            {
                set.Add(new XElement(
                    ns + "Representation",
                    new XAttribute("id", track.Name),
                    new XAttribute("codecs", track.Codecs),
                    new XAttribute("bandwidth", track.PeakBandwidth),
                    new XAttribute("width", track.Width),
                    new XAttribute("height", track.Height),
                    new XAttribute("sar", "1:1"),
                    new XAttribute("frameRate", FrameRate(track.FrameRate)),
                    Template(ns, track)));
            }

            period.Add(set);
        }

        if (audio is not null)
        {
            period.Add(new XElement(
                ns + "AdaptationSet",
                new XAttribute("id", setId),
                new XAttribute("contentType", "audio"),
                new XAttribute("mimeType", "audio/mp4"),
                new XAttribute("lang", "und"),
                new XAttribute("segmentAlignment", "true"),
                new XAttribute("startWithSAP", "1"),
                protection?.DashContentProtection(ns),
                new XElement(
                    ns + "Representation",
                    new XAttribute("id", audio.Name),
                    new XAttribute("codecs", audio.Codecs),
                    new XAttribute("bandwidth", audio.PeakBandwidth),
                    new XAttribute("audioSamplingRate", 48000),
                    new XElement(ns + "AudioChannelConfiguration", new XAttribute("schemeIdUri", "urn:mpeg:dash:23003:3:audio_channel_configuration:2011"), new XAttribute("value", 2)),
                    Template(ns, audio))));
        }

        var mpd = new XElement(
            ns + "MPD",
            protection is null ? null : new XAttribute(XNamespace.Xmlns + "cenc", CencSignalling.CencNamespace.NamespaceName),
            new XAttribute("type", "static"),
            new XAttribute("profiles", "urn:mpeg:dash:profile:isoff-live:2011"),
            new XAttribute("mediaPresentationDuration", Iso(duration)),
            new XAttribute("minBufferTime", Iso(segmentSeconds)),
            period);
        return new XDeclaration("1.0", "utf-8", null) + "\n" + mpd.ToString() + "\n";
    }

    /// <summary>SegmentTemplate with a millisecond timeline; start times are rounded from the running total so no drift builds up.</summary>
    private static XElement Template(XNamespace ns, PackagedTrack track)
    {
        var timeline = new XElement(ns + "SegmentTimeline");
        var elapsed = 0.0;
        long? runDuration = null;
        var runStart = 0L;
        var repeats = 0;
        foreach (var segment in track.Segments)
        {
            var start = (long)Math.Round(elapsed * 1000);
            elapsed += segment.Duration;
            var d = (long)Math.Round(elapsed * 1000) - start;
            if (runDuration == d)
            {
                repeats++;
                continue;
            }

            Flush();
            runDuration = d;
            runStart = start;
            repeats = 0;
        }

        Flush();
        return new XElement(
            ns + "SegmentTemplate",
            new XAttribute("timescale", 1000),
            new XAttribute("initialization", $"{track.Name}/init.mp4"),
            new XAttribute("media", $"{track.Name}/seg-$Number%05d$.m4s"),
            new XAttribute("startNumber", 1),
            timeline);

        void Flush()
        {
            if (runDuration is { } duration)
            {
                var s = new XElement(ns + "S", new XAttribute("t", runStart), new XAttribute("d", duration));
                if (repeats > 0)
                {
                    s.Add(new XAttribute("r", repeats));
                }

                timeline.Add(s);
            }
        }
    }

    private static string Iso(double seconds) => string.Create(CultureInfo.InvariantCulture, $"PT{seconds:0.000}S");

    public static string FrameRate(double fps)
    {
        var rounded = Math.Round(fps);
        if (Math.Abs(fps - rounded) < 0.01)
        {
            return ((int)rounded).ToString(CultureInfo.InvariantCulture);
        }

        return string.Create(CultureInfo.InvariantCulture, $"{(long)Math.Round(fps * 1001)}/1001");
    }

    private static string Par(PackagedTrack track)
    {
        var gcd = Gcd(track.Width, track.Height);
        return string.Create(CultureInfo.InvariantCulture, $"{track.Width / gcd}:{track.Height / gcd}");
    }

    private static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);
}
