using System.Xml.Linq;
using OpenConnect.Steering.Selection;

namespace OpenConnect.Steering.Play;

/// <summary>
/// Where a player of a protected title gets its ClearKey licence: the origin's licence endpoint,
/// <c>{origin}/license/s/{token}/v/{title}/clearkey</c>, with the same playback token steering
/// signs for the pathways' URLs (bound to the client's prefix, checked by the origin as an
/// appliance checks it). A title is protected when its multivariant playlist carries a ClearKey
/// <c>EXT-X-SESSION-KEY</c>; its MPD then has a ClearKey <c>ContentProtection</c>, which gets the
/// licence URL as <c>dashif:Laurl</c> and <c>clearkey:Laurl</c> so a player configured from the
/// MPD alone (dash.js, Shaka) finds it.
/// </summary>
public static class ClearKeyLicense
{
    public const string KeySystem = "org.w3.clearkey";
    public const string DashSchemeIdUri = "urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e";
    public static readonly XNamespace DashIf = "https://dashif.org/CPS";
    public static readonly XNamespace ClearKey = "http://dashif.org/guidelines/clearKey";

    /// <summary>True when the origin's multivariant playlist signals ClearKey (<c>EXT-X-SESSION-KEY</c> with <c>KEYFORMAT="org.w3.clearkey"</c>).</summary>
    public static bool IsProtected(string multivariant)
    {
        foreach (var line in multivariant.Split('\n', StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith("#EXT-X-SESSION-KEY:", StringComparison.Ordinal)
                && HlsAttributeList.Parse(line["#EXT-X-SESSION-KEY:".Length..]).Get("KEYFORMAT") == KeySystem)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The licence URL for a decision: on the origin pathway, with the decision's token.</summary>
    public static string Url(Decision decision)
    {
        var origin = decision.Pathways[^1];
        return string.Concat(origin.HostUrl, "/license/s/", decision.Token, "/v/", decision.Title, "/clearkey");
    }

    /// <summary>Puts <paramref name="licenseUrl"/> into every ClearKey ContentProtection of <paramref name="root"/> (replacing any there); false when there is none.</summary>
    public static bool AddToMpd(XElement root, string licenseUrl)
    {
        var ns = root.Name.Namespace;
        var found = false;
        foreach (var protection in root.Descendants(ns + "ContentProtection"))
        {
            if (!string.Equals((string?)protection.Attribute("schemeIdUri"), DashSchemeIdUri, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            protection.Elements(DashIf + "Laurl").Remove();
            protection.Elements(ClearKey + "Laurl").Remove();
            protection.Add(
                new XElement(DashIf + "Laurl", licenseUrl),
                new XElement(ClearKey + "Laurl", new XAttribute("Lic_type", "EME-1.0"), licenseUrl));
            found = true;
        }

        if (found)
        {
            root.SetAttributeValue(XNamespace.Xmlns + "dashif", DashIf.NamespaceName);
            root.SetAttributeValue(XNamespace.Xmlns + "clearkey", ClearKey.NamespaceName);
        }

        return found;
    }
}
