using System.Text;
using OpenConnect.Steering.Selection;

namespace OpenConnect.Steering.Play;

/// <summary>
/// The origin's multivariant playlist, parsed into what steering rewrites: variants
/// (<c>EXT-X-STREAM-INF</c> + URI), renditions (<c>EXT-X-MEDIA</c>), I-frame variants and the rest.
/// </summary>
public sealed class HlsMultivariant
{
    private const string StreamInf = "#EXT-X-STREAM-INF:";
    private const string MediaTag = "#EXT-X-MEDIA:";
    private const string IFrame = "#EXT-X-I-FRAME-STREAM-INF:";
    private const string Steering = "#EXT-X-CONTENT-STEERING:";

    private HlsMultivariant(List<string> header, List<(HlsAttributeList Attributes, string Uri)> variants, List<HlsAttributeList> media, List<HlsAttributeList> iframes)
    {
        Header = header;
        Variants = variants;
        Media = media;
        IFrames = iframes;
    }

    public IReadOnlyList<string> Header { get; }

    public IReadOnlyList<(HlsAttributeList Attributes, string Uri)> Variants { get; }

    public IReadOnlyList<HlsAttributeList> Media { get; }

    public IReadOnlyList<HlsAttributeList> IFrames { get; }

    /// <summary>Parses a multivariant playlist; null when it is not one (no <c>#EXTM3U</c> or no variant).</summary>
    public static HlsMultivariant? Parse(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.TrimEntries);
        if (lines.Length == 0 || lines[0] != "#EXTM3U")
        {
            return null;
        }

        var header = new List<string>();
        var variants = new List<(HlsAttributeList, string)>();
        var media = new List<HlsAttributeList>();
        var iframes = new List<HlsAttributeList>();
        HlsAttributeList? pending = null;
        foreach (var line in lines.Skip(1))
        {
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith(StreamInf, StringComparison.Ordinal))
            {
                pending = HlsAttributeList.Parse(line[StreamInf.Length..]);
            }
            else if (line.StartsWith(MediaTag, StringComparison.Ordinal))
            {
                media.Add(HlsAttributeList.Parse(line[MediaTag.Length..]));
            }
            else if (line.StartsWith(IFrame, StringComparison.Ordinal))
            {
                iframes.Add(HlsAttributeList.Parse(line[IFrame.Length..]));
            }
            else if (line.StartsWith(Steering, StringComparison.Ordinal))
            {
                // Replaced by steering's own tag.
            }
            else if (line[0] != '#')
            {
                if (pending is not null)
                {
                    variants.Add((pending, line));
                    pending = null;
                }
            }
            else if (!line.StartsWith("#EXT-X-STREAM-INF", StringComparison.Ordinal))
            {
                header.Add(line);
            }
        }

        return variants.Count == 0 ? null : new HlsMultivariant(header, variants, media, iframes);
    }

    /// <summary>
    /// Writes the playlist for a player: every variant, rendition and I-frame variant once per pathway
    /// with its <c>PATHWAY-ID</c>, absolute signed URIs, audio/subtitle groups renamed per pathway
    /// (a player picks renditions by the group of the variant it plays), stable ids for cloning,
    /// and the <c>EXT-X-CONTENT-STEERING</c> tag.
    /// </summary>
    public string Render(IReadOnlyList<Pathway> pathways, string steeringUri, string defaultPathway)
    {
        var sb = new StringBuilder(4096);
        sb.Append("#EXTM3U\n");
        foreach (var line in Header)
        {
            sb.Append(line).Append('\n');
        }

        sb.Append("#EXT-X-CONTENT-STEERING:SERVER-URI=\"").Append(steeringUri).Append("\",PATHWAY-ID=\"").Append(defaultPathway).Append("\"\n");
        foreach (var pathway in pathways)
        {
            for (var i = 0; i < Media.Count; i++)
            {
                var m = Media[i].Clone();
                if (m.Get("GROUP-ID") is { } group)
                {
                    m.SetQuoted("GROUP-ID", GroupFor(group, pathway.Id));
                }

                if (m.Get("URI") is { } uri)
                {
                    m.SetQuoted("URI", Resolve(pathway.TitleBase, uri));
                }

                m.SetQuoted("STABLE-RENDITION-ID", Media[i].Get("STABLE-RENDITION-ID") ?? RenditionId(i));
                sb.Append(MediaTag).Append(m).Append('\n');
            }
        }

        foreach (var pathway in pathways)
        {
            for (var i = 0; i < Variants.Count; i++)
            {
                var (attributes, uri) = Variants[i];
                var v = attributes.Clone();
                foreach (var key in (ReadOnlySpan<string>)["AUDIO", "SUBTITLES"])
                {
                    if (v.Get(key) is { } group)
                    {
                        v.SetQuoted(key, GroupFor(group, pathway.Id));
                    }
                }

                v.SetQuoted("PATHWAY-ID", pathway.Id);
                v.SetQuoted("STABLE-VARIANT-ID", attributes.Get("STABLE-VARIANT-ID") ?? VariantId(i));
                sb.Append(StreamInf).Append(v).Append('\n').Append(Resolve(pathway.TitleBase, uri)).Append('\n');
            }

            foreach (var iframe in IFrames)
            {
                var f = iframe.Clone();
                f.SetQuoted("PATHWAY-ID", pathway.Id);
                if (f.Get("URI") is { } uri)
                {
                    f.SetQuoted("URI", Resolve(pathway.TitleBase, uri));
                }

                sb.Append(IFrame).Append(f).Append('\n');
            }
        }

        return sb.ToString();
    }

    /// <summary>Absolute URIs of every variant (by stable variant id) and rendition (by stable rendition id) on a pathway, for <c>PATHWAY-CLONES</c>.</summary>
    public (Dictionary<string, string> Variants, Dictionary<string, string> Renditions) UrisFor(string titleBase)
    {
        var variants = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < Variants.Count; i++)
        {
            variants[Variants[i].Attributes.Get("STABLE-VARIANT-ID") ?? VariantId(i)] = Resolve(titleBase, Variants[i].Uri);
        }

        var renditions = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < Media.Count; i++)
        {
            if (Media[i].Get("URI") is { } uri)
            {
                renditions[Media[i].Get("STABLE-RENDITION-ID") ?? RenditionId(i)] = Resolve(titleBase, uri);
            }
        }

        return (variants, renditions);
    }

    public static string GroupFor(string group, string pathwayId) => $"{group}.{pathwayId}";

    private static string VariantId(int index) => "v" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string RenditionId(int index) => "r" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Resolves a playlist URI against the signed title base (absolute URIs stay as they are).</summary>
    public static string Resolve(string titleBase, string uri) => new Uri(new Uri(titleBase), uri).AbsoluteUri;
}
