using System.Xml.Linq;

namespace OpenConnect.Origin.Pipeline.Cenc;

/// <summary>One system's signalling for one title: its <c>pssh</c> box and HLS key tag form.</summary>
public sealed record SignalledSystem(string Name, Guid SystemId, byte[] PsshBox, string HlsKeyFormat, string HlsKeyUri);

/// <summary>
/// How a protected title is signalled, in the init segments (<c>pssh</c>), the MPD
/// (<c>ContentProtection</c>) and the HLS playlists (<c>EXT-X-KEY</c>, <c>EXT-X-SESSION-KEY</c>),
/// all from the title's key id and the configured systems. ClearKey always comes first.
/// </summary>
public sealed class CencSignalling
{
    public const string ClearKeyHlsFormat = "org.w3.clearkey";
    public const string Mp4ProtectionScheme = "urn:mpeg:dash:mp4protection:2011";
    public static readonly XNamespace CencNamespace = "urn:mpeg:cenc:2013";

    public CencSignalling(byte[] keyId, IEnumerable<DrmSystemOptions> systems)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(keyId.Length, 16, nameof(keyId));
        KeyId = keyId;
        var common = Pssh.Box(Pssh.CommonSystemId, [keyId], []);
        Systems =
        [
            new SignalledSystem("ClearKey1.0", Pssh.ClearKeySystemId, common, ClearKeyHlsFormat, "data:text/plain;base64," + Convert.ToBase64String(keyId)),
            .. systems.Select(s =>
            {
                var box = Pssh.Box(s.ParsedSystemId, [keyId], s.ParsedPsshData);
                var uri = s.HlsKeyUri.Length > 0 ? s.HlsKeyUri : "data:text/plain;base64," + Convert.ToBase64String(box);
                return new SignalledSystem(s.Name, s.ParsedSystemId, box, s.HlsKeyFormat, uri);
            }),
        ];
    }

    public byte[] KeyId { get; }

    /// <summary>ClearKey (signalled in the MPD under the DASH-IF id, its <c>pssh</c> under the W3C common id) and the configured systems.</summary>
    public IReadOnlyList<SignalledSystem> Systems { get; }

    /// <summary>The key id as manifests write it (<c>cenc:default_KID</c>).</summary>
    public string KeyIdUuid => new Guid(KeyId, bigEndian: true).ToString("D");

    /// <summary>The <c>pssh</c> boxes for every init segment's moov.</summary>
    public IReadOnlyList<byte[]> PsshBoxes => [.. Systems.Select(s => s.PsshBox)];

    /// <summary>
    /// The attribute lists of the HLS key tags (after <c>#EXT-X-KEY:</c> or <c>#EXT-X-SESSION-KEY:</c>):
    /// <c>SAMPLE-AES-CTR</c> is HLS's name for the <c>cenc</c> scheme; hls.js takes a ClearKey key id
    /// from the first 16 bytes of a <c>data:</c> URI (or <c>KEYID</c>) and a Widevine <c>pssh</c> from its URI.
    /// </summary>
    public IEnumerable<string> HlsKeyAttributes()
    {
        var keyId = "0x" + Convert.ToHexString(KeyId);
        foreach (var system in Systems.Where(s => s.HlsKeyFormat.Length > 0))
        {
            yield return $"METHOD=SAMPLE-AES-CTR,URI=\"{system.HlsKeyUri}\",KEYID={keyId},KEYFORMAT=\"{system.HlsKeyFormat}\",KEYFORMATVERSIONS=\"1\"";
        }
    }

    /// <summary>The <c>ContentProtection</c> elements of an AdaptationSet: the <c>cenc</c> scheme with <c>default_KID</c>, ClearKey, then one per configured system with its <c>cenc:pssh</c>.</summary>
    public IEnumerable<XElement> DashContentProtection(XNamespace mpd)
    {
        yield return new XElement(
            mpd + "ContentProtection",
            new XAttribute("schemeIdUri", Mp4ProtectionScheme),
            new XAttribute("value", "cenc"),
            new XAttribute(CencNamespace + "default_KID", KeyIdUuid));
        foreach (var system in Systems)
        {
            // ClearKey goes without cenc:pssh (the DASH-IF ClearKey form): dash.js then asks the
            // CDM with 'keyids' built from default_KID; with a pssh here it passes the box as
            // 'keyids' and the CDM refuses it. The init segments still carry the common pssh.
            var isClearKey = system.SystemId == Pssh.ClearKeySystemId;
            yield return new XElement(
                mpd + "ContentProtection",
                new XAttribute("schemeIdUri", "urn:uuid:" + system.SystemId.ToString("D")),
                new XAttribute("value", system.Name),
                isClearKey ? null : new XElement(CencNamespace + "pssh", Convert.ToBase64String(system.PsshBox)));
        }
    }
}
