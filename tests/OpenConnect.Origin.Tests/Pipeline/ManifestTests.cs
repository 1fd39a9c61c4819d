using System.Xml.Linq;
using OpenConnect.Origin.Pipeline;

namespace OpenConnect.Origin.Tests.Pipeline;

public sealed class ManifestTests
{
    private static PackagedTrack Track(string name, bool video, params double[] durations) =>
        new(name, video, video ? "h264" : "aac", video ? "avc1.64001f" : "mp4a.40.2", video ? 1280 : 0, video ? 720 : 0, 29.97, 2800,
            durations.Select((d, i) => new Segment($"seg-{i + 1:d5}.m4s", d, (long)(d * (video ? 350_000 : 16_000) * (i == 1 ? 2 : 1)))).ToList());

    [Fact]
    public void MediaPlaylist_IsVod_WithMapTargetDurationAndEndlist()
    {
        var text = Manifests.MediaPlaylist(Track("720p", true, 4, 4, 4.4, 1.2));

        Assert.Equal(
            "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"init.mp4\"\n" +
            "#EXTINF:4.000000,\nseg-00001.m4s\n#EXTINF:4.000000,\nseg-00002.m4s\n#EXTINF:4.400000,\nseg-00003.m4s\n#EXTINF:1.200000,\nseg-00004.m4s\n#EXT-X-ENDLIST\n",
            text);
        Assert.Equal([("seg-00001.m4s", 4.0), ("seg-00002.m4s", 4.0), ("seg-00003.m4s", 4.4), ("seg-00004.m4s", 1.2)], Manifests.ParseMediaPlaylist(text));
    }

    [Fact]
    public void Multivariant_AddsAudioToBandwidth_AndPointsAtTheAudioGroup()
    {
        var video = Track("720p", true, 4, 4, 2);
        var audio = Track("audio", false, 4, 4, 2);
        var text = Manifests.MultivariantPlaylist([video], audio);

        Assert.Contains($"#EXT-X-STREAM-INF:BANDWIDTH={video.PeakBandwidth + audio.PeakBandwidth},AVERAGE-BANDWIDTH={video.AverageBandwidth + audio.AverageBandwidth},CODECS=\"avc1.64001f,mp4a.40.2\",RESOLUTION=1280x720,FRAME-RATE=29.970,AUDIO=\"aud\"\n720p/index.m3u8\n", text, StringComparison.Ordinal);
        Assert.Contains("#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\"", text, StringComparison.Ordinal);
        Assert.Contains("URI=\"audio/index.m3u8\"", text, StringComparison.Ordinal);
        Assert.Equal(4 * 350_000 * 2 * 8 / 4, video.PeakBandwidth);
    }

    [Fact]
    public void Mpd_TimelineRepeatsEqualSegments_AndAddsUpWithoutDrift()
    {
        var video = Track("720p", true, 4, 4, 4, 4.0213, 3.3333);
        var mpd = XDocument.Parse(Manifests.Mpd([video], Track("audio", false, 4, 4, 4, 4, 3.4), 4));
        XNamespace ns = "urn:mpeg:dash:schema:mpd:2011";

        Assert.Equal("static", mpd.Root!.Attribute("type")!.Value);
        Assert.Equal("PT19.355S", mpd.Root.Attribute("mediaPresentationDuration")!.Value);
        var template = mpd.Descendants(ns + "SegmentTemplate").First();
        Assert.Equal("720p/seg-$Number%05d$.m4s", template.Attribute("media")!.Value);
        Assert.Equal("720p/init.mp4", template.Attribute("initialization")!.Value);
        var s = template.Descendants(ns + "S").Select(e => (T: (long)e.Attribute("t")!, D: (long)e.Attribute("d")!, R: (int?)e.Attribute("r") ?? 0)).ToList();
        Assert.Equal([(0L, 4000L, 2), (12000L, 4021L, 0), (16021L, 3334L, 0)], s);
        Assert.Equal("30000/1001", mpd.Descendants(ns + "Representation").First().Attribute("frameRate")!.Value);
        Assert.Equal(2, mpd.Descendants(ns + "AdaptationSet").Count());
    }
}
