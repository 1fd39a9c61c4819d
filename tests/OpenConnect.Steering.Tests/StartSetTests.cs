using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenConnect.Steering.Play;

namespace OpenConnect.Steering.Tests;

public sealed class StartSetTests
{
    // The web app's start-config.js cases: the highest within half the hint, else the lowest.
    [Theory]
    [InlineData(null, 0)]
    [InlineData(700_000L, 0)]
    [InlineData(2_000_000L, 1)]
    [InlineData(4_999_999L, 1)]
    [InlineData(5_000_000L, 2)]
    [InlineData(100_000_000L, 3)]
    public void ChooseIndex_MatchesThePlayersStartRendition(long? hint, int expected) =>
        Assert.Equal(expected, StartSet.ChooseIndex([400_000, 1_000_000, 2_500_000, 5_000_000], hint));

    [Fact]
    public void ChooseIndex_ReadsAnyOrder_AndNothingForNoRenditions()
    {
        Assert.Equal(2, StartSet.ChooseIndex([2_500_000, 1_000_000, 400_000], null));
        Assert.Equal(1, StartSet.ChooseIndex([2_500_000, 1_000_000, 400_000], 3_000_000));
        Assert.Equal(-1, StartSet.ChooseIndex([], 3_000_000));
    }

    [Theory]
    [InlineData("2500000", 2_500_000L)]
    [InlineData(null, null)]
    [InlineData("", null)]
    [InlineData("0", null)]
    [InlineData("-5", null)]
    [InlineData("1e6", null)]
    [InlineData("99999999999", null)]
    public void ParseHint_TakesOnlyAPlausibleThroughput(string? text, long? expected) => Assert.Equal(expected, StartSet.ParseHint(text));

    [Theory]
    [InlineData("#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2.0,\nseg-00001.m4s\n#EXTINF:2.0,\nseg-00002.m4s\n", "init.mp4", "seg-00001.m4s")]
    [InlineData("#EXTM3U\r\n#EXTINF:2.0,\r\nseg-1.ts\r\n", null, "seg-1.ts")]
    [InlineData("#EXTM3U\n#EXT-X-MAP:URI=\"all.mp4\",BYTERANGE=\"800@0\"\n#EXT-X-BYTERANGE:1000@800\n#EXTINF:2.0,\nall.mp4\n", null, null)]
    [InlineData("#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXT-X-ENDLIST\n", "init.mp4", null)]
    public void HlsFirstFiles_AreTheMapAndTheFirstSegment_WholeFilesOnly(string playlist, string? init, string? first) =>
        Assert.Equal((init, first), StartSet.HlsFirstFiles(playlist));

    [Fact]
    public void HlsPlaylists_PickTheStartVariantAndItsDefaultAudio_OrNothingAcrossCodecs()
    {
        var ladder = HlsMultivariant.Parse("""
            #EXTM3U
            #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",DEFAULT=NO,URI="r3/index.m3u8"
            #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="fr",DEFAULT=YES,URI="r4/index.m3u8"
            #EXT-X-STREAM-INF:BANDWIDTH=2600000,CODECS="avc1.64001f,mp4a.40.2",AUDIO="a"
            r0/index.m3u8
            #EXT-X-STREAM-INF:BANDWIDTH=900000,CODECS="avc1.4d401e,mp4a.40.2",AUDIO="a"
            r1/index.m3u8
            """)!;
        Assert.Equal(("r1/index.m3u8", "r4/index.m3u8"), StartSet.HlsPlaylists(ladder, null));
        Assert.Equal(("r0/index.m3u8", "r4/index.m3u8"), StartSet.HlsPlaylists(ladder, 6_000_000));

        var mixed = HlsMultivariant.Parse("""
            #EXTM3U
            #EXT-X-STREAM-INF:BANDWIDTH=2600000,CODECS="av01.0.08M.08,mp4a.40.2"
            r0/index.m3u8
            #EXT-X-STREAM-INF:BANDWIDTH=900000,CODECS="avc1.4d401e,mp4a.40.2"
            r1/index.m3u8
            """)!;
        Assert.Null(StartSet.HlsPlaylists(mixed, null));
    }

    [Theory]
    [InlineData("r$RepresentationID$/seg-$Number%05d$.m4s", "r1/seg-00007.m4s")]
    [InlineData("$RepresentationID$/$Time$.m4s", "1/4000.m4s")]
    [InlineData("b$Bandwidth$-$Number$.m4s", "b800000-7.m4s")]
    [InlineData("cost$$-$Unknown$.m4s", "cost$-$Unknown$.m4s")]
    public void ExpandTemplate_FillsTheDashIdentifiers(string template, string expected) =>
        Assert.Equal(expected, StartSet.ExpandTemplate(template, "1", "800000", 7, 4000));

    private const string OriginStyleMpd = """
        <?xml version="1.0" encoding="utf-8"?>
        <MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static">
          <Period id="0" start="PT0S">
            <AdaptationSet id="0" contentType="video" mimeType="video/mp4">
              <Representation id="720p" bandwidth="2500000"><SegmentTemplate timescale="1000" initialization="720p/init.mp4" media="720p/seg-$Number%05d$.m4s" startNumber="1"><SegmentTimeline><S t="0" d="2000" r="5" /></SegmentTimeline></SegmentTemplate></Representation>
              <Representation id="360p" bandwidth="800000"><SegmentTemplate timescale="1000" initialization="360p/init.mp4" media="360p/seg-$Number%05d$.m4s" startNumber="1"><SegmentTimeline><S t="0" d="2000" r="5" /></SegmentTimeline></SegmentTemplate></Representation>
            </AdaptationSet>
            <AdaptationSet id="1" contentType="audio" mimeType="audio/mp4">
              <Representation id="audio" bandwidth="96000"><SegmentTemplate timescale="1000" initialization="audio/init.mp4" media="audio/seg-$Number%05d$.m4s" startNumber="1"><SegmentTimeline><S t="0" d="2000" r="5" /></SegmentTimeline></SegmentTemplate></Representation>
            </AdaptationSet>
          </Period>
        </MPD>
        """;

    [Fact]
    public void DashFirstFiles_AreTheStartRepresentationsAndTheAudiosInitAndFirstSegment()
    {
        Assert.Equal(["360p/init.mp4", "360p/seg-00001.m4s", "audio/init.mp4", "audio/seg-00001.m4s"], StartSet.DashFirstFiles(OriginStyleMpd, null));
        Assert.Equal(["720p/init.mp4", "720p/seg-00001.m4s", "audio/init.mp4", "audio/seg-00001.m4s"], StartSet.DashFirstFiles(OriginStyleMpd, 5_000_000));
        var byTime = OriginStyleMpd.Replace("seg-$Number%05d$", "t$Time$", StringComparison.Ordinal).Replace("<S t=\"0\"", "<S t=\"120\"", StringComparison.Ordinal);
        Assert.Equal("360p/t120.m4s", StartSet.DashFirstFiles(byTime, null)[1]);
    }

    [Theory]
    [InlineData("not xml")]
    [InlineData("<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\"><Period><AdaptationSet contentType=\"video\"><BaseURL>elsewhere/</BaseURL></AdaptationSet></Period></MPD>")]
    [InlineData("<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\"><Period><AdaptationSet contentType=\"video\"><Representation id=\"a\" bandwidth=\"1\"><SegmentBase /></Representation></AdaptationSet></Period></MPD>")]
    [InlineData("<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\"><Period><AdaptationSet contentType=\"video\" /><AdaptationSet contentType=\"video\" /></Period></MPD>")]
    [InlineData("<!DOCTYPE MPD [<!ENTITY x \"y\">]><MPD />")]
    public void DashFirstFiles_AreNoneForAnMpdWhoseRequestsCannotBeForeseen(string mpd) => Assert.Empty(StartSet.DashFirstFiles(mpd, null));

    [Theory]
    [InlineData("r1/init.mp4", true)]
    [InlineData("720p-av1/seg-00001.m4s", true)]
    [InlineData("../other/master.m3u8", false)]
    [InlineData("/v/t2/r1/init.mp4", false)]
    [InlineData("http://elsewhere.example/x.m4s", false)]
    [InlineData("r1/init.mp4?x=1", false)]
    [InlineData("", false)]
    public void IsPackagePath_OnlyFilesOfTheTitle(string path, bool expected) => Assert.Equal(expected, StartSet.IsPackagePath(path));

    [Fact]
    public async Task Play_WithStartHls_ListsTheSteeredPlaylist_TheStartRenditionsPlaylists_AndTheirFirstFiles_OnTheFirstPathway()
    {
        await using var h = await StartAsync();
        var play = await h.GetJsonAsync("/play/t1?start=hls");
        var hlsUrl = play.GetProperty("hls").GetProperty("url").GetString()!;
        var firstBase = Base(play.GetProperty("hls").GetProperty("pathways")[0].GetProperty("url").GetString()!);
        var start = play.GetProperty("start");
        Assert.Equal("hls", start.GetProperty("protocol").GetString());
        var resources = start.GetProperty("resources").EnumerateArray().Select(r => (Url: r.GetProperty("url").GetString()!, Body: r.GetProperty("body").GetString())).ToArray();

        // The steered playlist inline is what the player would get from its URL for this session.
        Assert.Equal(hlsUrl, resources[0].Url);
        Assert.Equal(await h.Http.GetStringAsync(hlsUrl), resources[0].Body);

        // Without a hint the lowest variant (r1) and the group's default audio (r2), on a1: the playlists
        // inline as the origin has them, then each one's init and first segment.
        Assert.Equal(
            ["r1/index.m3u8", "r1/init.mp4", "r1/seg-00001.m4s", "r2/index.m3u8", "r2/init.mp4", "r2/seg-00001.m4s"],
            resources.Skip(1).Select(r => Relative(firstBase, r.Url)));
        Assert.StartsWith("http://127.0.0.1:8401/s/", firstBase, StringComparison.Ordinal);
        var origin = h.Origin!.CreateClient();
        Assert.Equal(await origin.GetStringAsync("/v/t1/r1/index.m3u8"), resources[1].Body);
        Assert.Equal(await origin.GetStringAsync("/v/t1/r2/index.m3u8"), resources[4].Body);
        Assert.All(resources.Where(r => r.Url.EndsWith(".mp4", StringComparison.Ordinal) || r.Url.EndsWith(".m4s", StringComparison.Ordinal)), r => Assert.Null(r.Body));
        // The files exist: each listed path is one the origin serves.
        foreach (var (url, _) in resources.Skip(1))
        {
            Assert.Equal(HttpStatusCode.OK, (await origin.GetAsync("/v/t1/" + Relative(firstBase, url))).StatusCode);
        }

        // A hint that fits the top variant (669 kbit/s within half of 1.4 Mbit/s) starts there.
        var fast = await h.GetJsonAsync("/play/t1?start=hls&bps=1400000");
        Assert.Equal("r0/index.m3u8", Relative(firstBase, fast.GetProperty("start").GetProperty("resources")[1].GetProperty("url").GetString()!));
    }

    [Fact]
    public async Task Play_WithStartDash_ListsTheSteeredMpd_AndTheStartRepresentationsFirstFiles()
    {
        await using var h = await StartAsync();
        var play = await h.GetJsonAsync("/play/t1?start=dash&bps=1300000");
        var dashUrl = play.GetProperty("dash").GetProperty("url").GetString()!;
        var firstBase = Base(play.GetProperty("dash").GetProperty("pathways")[0].GetProperty("url").GetString()!);
        var resources = play.GetProperty("start").GetProperty("resources").EnumerateArray().ToArray();
        Assert.Equal("dash", play.GetProperty("start").GetProperty("protocol").GetString());
        Assert.Equal(dashUrl, resources[0].GetProperty("url").GetString());
        Assert.Equal(await h.Http.GetStringAsync(dashUrl), resources[0].GetProperty("body").GetString());
        // 1.3 Mbit/s: representation 0 (600 kbit/s) fits in half of it; audio is representation 2.
        Assert.Equal(["r0/init.mp4", "r0/seg-00001.m4s", "r2/init.mp4", "r2/seg-00001.m4s"], resources.Skip(1).Select(r => Relative(firstBase, r.GetProperty("url").GetString()!)));
    }

    [Fact]
    public async Task Play_WithoutStart_HasNoStartSet_AndAnUnknownStartIs400()
    {
        await using var h = await StartAsync();
        Assert.Equal(JsonValueKind.Null, (await h.GetJsonAsync("/play/t1")).GetProperty("start").ValueKind);
        var bad = await h.Http.GetAsync("/play/t1?start=shaka");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("start must be hls or dash", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString(), StringComparison.Ordinal);
        // A hint that is not a number is no hint, not an error.
        var start = (await h.GetJsonAsync("/play/t1?start=hls&bps=lots")).GetProperty("start").GetProperty("resources");
        Assert.EndsWith("/v/t1/r1/index.m3u8", start[1].GetProperty("url").GetString(), StringComparison.Ordinal);
    }

    private static async Task<SteeringHarness> StartAsync()
    {
        var h = await SteeringHarness.StartAsync();
        await h.RegisterAsync("a1", "isp1", "http://127.0.0.1:8401");
        await h.HeartbeatAsync("a1", inventory: SteeringHarness.FullInventory(1, SteeringHarness.Title));
        return h;
    }

    // The signed title base of a pathway's manifest URL (…/v/t1/).
    private static string Base(string manifestUrl) => manifestUrl[..(manifestUrl.LastIndexOf('/') + 1)];

    private static string Relative(string titleBase, string url)
    {
        Assert.StartsWith(titleBase, url, StringComparison.Ordinal);
        return url[titleBase.Length..];
    }
}
