using System.Xml.Linq;
using OpenConnect.Steering.Play;
using OpenConnect.Steering.Selection;

namespace OpenConnect.Steering.Tests;

/// <summary>The licence URL steering hands to players of a protected title: in the MPD's ClearKey ContentProtection and from the playlist signalling.</summary>
public sealed class ClearKeyLicenseTests
{
    private const string ProtectedMpd = """
        <?xml version="1.0" encoding="utf-8"?>
        <MPD xmlns:cenc="urn:mpeg:cenc:2013" type="static" xmlns="urn:mpeg:dash:schema:mpd:2011">
          <Period id="0">
            <AdaptationSet id="0" contentType="video">
              <ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" value="cenc" cenc:default_KID="9eb4050d-e44b-4802-932e-27d75083e266" />
              <ContentProtection schemeIdUri="urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e" value="ClearKey1.0"><cenc:pssh>AAAA</cenc:pssh></ContentProtection>
              <ContentProtection schemeIdUri="urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed" value="Widevine"><cenc:pssh>AAAA</cenc:pssh></ContentProtection>
              <Representation id="144p" bandwidth="1" />
            </AdaptationSet>
          </Period>
        </MPD>
        """;

    [Theory]
    [InlineData("#EXTM3U\n#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES-CTR,URI=\"data:text/plain;base64,AAAA\",KEYID=0x00,KEYFORMAT=\"org.w3.clearkey\",KEYFORMATVERSIONS=\"1\"\n", true)]
    [InlineData("#EXTM3U\n#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES-CTR,URI=\"data:text/plain;base64,AAAA\",KEYFORMAT=\"urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed\"\n", false)]
    [InlineData("#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-STREAM-INF:BANDWIDTH=1\n144p/index.m3u8\n", false)]
    public void IsProtected_ByAClearKeySessionKey(string playlist, bool expected) =>
        Assert.Equal(expected, ClearKeyLicense.IsProtected(playlist));

    [Fact]
    public void Url_IsOnTheOriginPathway_WithTheDecisionsToken()
    {
        var decision = new Decision("t1", "isp1", "tok.sig", DateTimeOffset.UnixEpoch, [
            new Pathway("a1", "a1", "isp1", "http://127.0.0.1:8401", SteeringDecisions.TitleBase("http://127.0.0.1:8401", "tok.sig", "t1")),
            new Pathway(SteeringDecisions.OriginPathwayId, null, null, "http://origin.example:8100", SteeringDecisions.TitleBase("http://origin.example:8100", "tok.sig", "t1")),
        ]);
        Assert.Equal("http://origin.example:8100/license/s/tok.sig/v/t1/clearkey", ClearKeyLicense.Url(decision));
    }

    [Fact]
    public void RenderedMpd_HasTheLicenceUrlInTheClearKeyContentProtectionOnly()
    {
        var pathways = new[] { new Pathway("a1", "a1", "isp1", "http://127.0.0.1:8401", "http://127.0.0.1:8401/s/tok/v/t1/") };
        var mpd = XDocument.Parse(DashManifest.Render(ProtectedMpd, pathways, "http://steering/steering/dash/t1", "a1", "http://origin/license/s/tok/v/t1/clearkey")!);
        XNamespace ns = "urn:mpeg:dash:schema:mpd:2011";
        var protections = mpd.Descendants(ns + "ContentProtection").ToList();
        Assert.Empty(protections[0].Elements());
        Assert.Equal("http://origin/license/s/tok/v/t1/clearkey", protections[1].Element(ClearKeyLicense.DashIf + "Laurl")?.Value);
        var clearKey = protections[1].Element(ClearKeyLicense.ClearKey + "Laurl")!;
        Assert.Equal("EME-1.0", (string?)clearKey.Attribute("Lic_type"));
        Assert.Equal("http://origin/license/s/tok/v/t1/clearkey", clearKey.Value);
        Assert.Single(protections[2].Elements());

        // Rendering again (a cached origin MPD) replaces rather than adds.
        var again = XDocument.Parse(DashManifest.Render(mpd.ToString(), pathways, "http://steering/steering/dash/t1", "a1", "http://origin/license/s/tok2/v/t1/clearkey")!);
        Assert.Equal("http://origin/license/s/tok2/v/t1/clearkey", Assert.Single(again.Descendants(ClearKeyLicense.DashIf + "Laurl")).Value);
    }

    [Fact]
    public void ClearMpd_GetsNoLicenceUrl()
    {
        var clear = ProtectedMpd.Replace("urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e", "urn:uuid:00000000-0000-0000-0000-000000000000", StringComparison.Ordinal);
        var pathways = new[] { new Pathway("a1", "a1", "isp1", "http://127.0.0.1:8401", "http://127.0.0.1:8401/s/tok/v/t1/") };
        var mpd = DashManifest.Render(clear, pathways, "http://steering/steering/dash/t1", "a1", "http://origin/license/s/tok/v/t1/clearkey")!;
        Assert.DoesNotContain("Laurl", mpd, StringComparison.Ordinal);
        Assert.DoesNotContain("dashif", mpd, StringComparison.Ordinal);
    }
}
