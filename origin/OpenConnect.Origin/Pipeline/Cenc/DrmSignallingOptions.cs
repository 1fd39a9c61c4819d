using OpenConnect.Hosting;

namespace OpenConnect.Origin.Pipeline.Cenc;

/// <summary>
/// Protected titles' signalling (section <c>Origin:Pipeline:Protection</c>). ClearKey (the W3C
/// common <c>pssh</c>, DASH <c>urn:uuid:e2719d58-…</c>, HLS <c>org.w3.clearkey</c>) is always
/// signalled; each of <see cref="Systems"/> adds its <c>pssh</c> to every init segment, a
/// <c>ContentProtection</c> to the MPD and, with <see cref="DrmSystemOptions.HlsKeyFormat"/>,
/// an <c>EXT-X-KEY</c>. The licence servers of those systems are the operator's.
/// </summary>
public sealed class DrmSignallingOptions
{
    /// <summary>Further DRM systems to signal (Widevine, PlayReady, FairPlay …). Default: none.</summary>
    public List<DrmSystemOptions> Systems { get; set; } = [];

    public void Validate(OptionsCheck check)
    {
        for (var i = 0; i < Systems.Count; i++)
        {
            Systems[i].Validate(check, $"Pipeline:Protection:Systems:{i}");
        }
    }
}

/// <summary>One DRM system's signalling, from configuration.</summary>
public sealed class DrmSystemOptions
{
    /// <summary>A label, written as the MPD <c>ContentProtection@value</c> (e.g. <c>Widevine</c>). Required.</summary>
    public string Name { get; set; } = "";

    /// <summary>The system id as a UUID (e.g. Widevine <c>edef8ba9-79d6-4ace-a3c8-27dcd51d21ed</c>). Required.</summary>
    public string SystemId { get; set; } = "";

    /// <summary>
    /// The system-specific <c>pssh</c> data, base64 (a Widevine <c>WidevinePsshData</c>, a PlayReady
    /// header object …). The box is version 1 and also lists the title's key id. Default empty.
    /// </summary>
    public string PsshData { get; set; } = "";

    /// <summary>HLS <c>KEYFORMAT</c> (e.g. <c>urn:uuid:edef8ba9-…</c>, <c>com.microsoft.playready</c>); empty: no HLS key tag. Default empty.</summary>
    public string HlsKeyFormat { get; set; } = "";

    /// <summary>HLS key <c>URI</c>; empty: a <c>data:</c> URI of the <c>pssh</c> box (the Widevine form). Default empty.</summary>
    public string HlsKeyUri { get; set; } = "";

    public Guid ParsedSystemId => Guid.Parse(SystemId);

    public byte[] ParsedPsshData => Convert.FromBase64String(PsshData);

    public void Validate(OptionsCheck check, string key)
    {
        check.Require(Name.Length > 0 && Name.All(c => c is > ' ' and <= '~' and not '"'), key + ":Name", Name, "must be printable ASCII without spaces or quotes");
        check.Require(Guid.TryParse(SystemId, out _), key + ":SystemId", SystemId, "must be a UUID");
        check.Require(PsshData.Length == 0 || IsBase64(PsshData), key + ":PsshData", PsshData, "must be base64");
        check.Require(HlsKeyFormat.All(c => c is >= ' ' and <= '~' and not '"'), key + ":HlsKeyFormat", HlsKeyFormat, "must be printable ASCII without quotes");
        check.Require(HlsKeyUri.All(c => c is > ' ' and <= '~' and not '"'), key + ":HlsKeyUri", HlsKeyUri, "must be a URI without spaces or quotes");
    }

    private static bool IsBase64(string text)
    {
        var buffer = new byte[(text.Length * 3 / 4) + 3];
        return Convert.TryFromBase64String(text, buffer, out _);
    }
}
