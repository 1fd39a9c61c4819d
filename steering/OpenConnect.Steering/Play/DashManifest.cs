using System.Xml;
using System.Xml.Linq;
using OpenConnect.Steering.Selection;

namespace OpenConnect.Steering.Play;

/// <summary>
/// Rewrites the origin's MPD for a player: one MPD-level <c>BaseURL</c> per pathway carrying its
/// <c>serviceLocation</c> (absolute, signed, ending in <c>/v/{title}/</c>, so segment templates
/// resolve under it) and a <c>ContentSteering</c> element pointing at steering's DASH steering manifest,
/// polled once playback runs, not before it starts.
/// A protected title's ClearKey <c>ContentProtection</c> gets the licence URL (<see cref="ClearKeyLicense"/>).
/// </summary>
public static class DashManifest
{
    public static readonly XNamespace Mpd = "urn:mpeg:dash:schema:mpd:2011";

    /// <summary>The rewritten MPD, or null when <paramref name="originMpd"/> is not an MPD.</summary>
    public static string? Render(string originMpd, IReadOnlyList<Pathway> pathways, string steeringUri, string defaultLocation, string? clearKeyLicenseUrl = null)
    {
        XDocument document;
        try
        {
            using var reader = XmlReader.Create(new StringReader(originMpd), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null });
            document = XDocument.Load(reader);
        }
        catch (XmlException)
        {
            return null;
        }

        var root = document.Root;
        if (root is null || root.Name.LocalName != "MPD")
        {
            return null;
        }

        var ns = root.Name.Namespace;
        if (clearKeyLicenseUrl is not null)
        {
            ClearKeyLicense.AddToMpd(root, clearKeyLicenseUrl);
        }

        root.Elements(ns + "BaseURL").Remove();
        root.Elements(ns + "ContentSteering").Remove();

        var added = new List<XElement>();
        foreach (var pathway in pathways)
        {
            added.Add(new XElement(ns + "BaseURL", new XAttribute("serviceLocation", pathway.Id), pathway.TitleBase));
        }

        // queryBeforeStart="false": this MPD is the decision a steering query would answer now (same
        // ranking, defaultServiceLocation first), so a player need not ask before its first segment;
        // asking would put one more request in series before the first frame. It polls from then on.
        added.Add(new XElement(ns + "ContentSteering",
            new XAttribute("defaultServiceLocation", defaultLocation),
            new XAttribute("queryBeforeStart", "false"),
            steeringUri));

        // Schema order: ProgramInformation first, then BaseURL (ContentSteering beside it).
        var anchor = root.Elements(ns + "ProgramInformation").LastOrDefault();
        if (anchor is not null)
        {
            anchor.AddAfterSelf(added);
        }
        else
        {
            root.AddFirst(added);
        }

        return document.Declaration is null
            ? document.ToString()
            : document.Declaration + "\n" + document.ToString();
    }
}
