using OpenConnect.Bench.Players;

namespace OpenConnect.Bench.Tests;

public class PlaybackTests
{
    [Fact]
    public void Buffer_StartsDrainsStallsAndResumes()
    {
        var buffer = new PlaybackBuffer(2);
        buffer.Append(1.0, 2, last: false);
        Assert.Equal(1.0, buffer.FirstFrameAt);
        Assert.Equal(1.0, buffer.Level(2.0), 6);
        // Empty at t = 3; the next segment arrives at t = 4.5: a 1.5 s stall.
        Assert.Equal(0, buffer.Level(4.0));
        Assert.False(buffer.Playing);
        buffer.Append(4.5, 2, last: false);
        Assert.True(buffer.Playing);
        Assert.Equal(1.5, buffer.RebufferSeconds, 6);
        Assert.Equal(1, buffer.Rebuffers);
        Assert.Equal(3.0, buffer.FirstStallAt);
    }

    [Fact]
    public void Buffer_WaitsForTheStartThreshold()
    {
        var buffer = new PlaybackBuffer(4);
        buffer.Append(1.0, 2, last: false);
        Assert.Null(buffer.FirstFrameAt);
        buffer.Append(2.5, 2, last: false);
        Assert.Equal(2.5, buffer.FirstFrameAt);
        Assert.Equal(0, buffer.RebufferSeconds);
    }

    [Fact]
    public void Buffer_ASegmentArrivingAsTheBufferEmptiesIsNoStall()
    {
        var buffer = new PlaybackBuffer(2);
        buffer.Append(0, 2, last: false);
        buffer.Append(2, 2, last: false);
        Assert.Equal(0, buffer.Rebuffers);
        Assert.Equal(2, buffer.Level(2), 6);
    }

    [Fact]
    public void Buffer_NeverStallsAfterTheLastSegment()
    {
        var buffer = new PlaybackBuffer(2);
        buffer.Append(0, 2, last: false);
        buffer.Append(1, 2, last: true);
        Assert.Equal(0, buffer.Level(100));
        Assert.True(buffer.Playing);
        Assert.Equal(0, buffer.Rebuffers);
        Assert.Null(buffer.FirstStallAt);
    }

    [Fact]
    public void Ladder_TakesTheDefaultPathwaysVariantsInBitrateOrder()
    {
        const string text = """
            #EXTM3U
            #EXT-X-VERSION:7
            #EXT-X-CONTENT-STEERING:SERVER-URI="http://s/steering/hls/t?session=x",PATHWAY-ID="oca-b"
            #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a.oca-a",NAME="audio",URI="http://a:1/s/tok/v/t/r4/index.m3u8"
            #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a.oca-b",NAME="audio",URI="http://b:2/s/tok/v/t/r4/index.m3u8"
            #EXT-X-STREAM-INF:BANDWIDTH=1400000,AUDIO="a.oca-a",PATHWAY-ID="oca-a"
            http://a:1/s/tok/v/t/r0/index.m3u8
            #EXT-X-STREAM-INF:BANDWIDTH=1400000,AUDIO="a.oca-b",PATHWAY-ID="oca-b"
            http://b:2/s/tok/v/t/r0/index.m3u8
            #EXT-X-STREAM-INF:BANDWIDTH=400000,AUDIO="a.oca-b",PATHWAY-ID="oca-b"
            http://b:2/s/tok/v/t/r1/index.m3u8
            """;
        var ladder = VariantLadder.Parse(text);
        Assert.Equal(new[] { 400_000.0, 1_400_000.0 }, ladder.Bitrates);
        Assert.Equal("http://b:2/s/tok/v/t/r1/index.m3u8", ladder.Variants[0].Uri);
        Assert.Equal("http://b:2/s/tok/v/t/r4/index.m3u8", ladder.AudioUri);
    }

    [Fact]
    public void Ladder_WithoutSteeringTagIsAClearError()
    {
        var error = Assert.Throws<InvalidDataException>(() => VariantLadder.Parse("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nr0/index.m3u8\n"));
        Assert.Contains("EXT-X-CONTENT-STEERING", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MediaPlaylist_ResolvesAgainstTheSignedPlaylistUrl()
    {
        const string text = """
            #EXTM3U
            #EXT-X-TARGETDURATION:2
            #EXT-X-MAP:URI="init.mp4"
            #EXTINF:2.000000,
            seg-00001.m4s
            #EXTINF:1.500000,
            seg-00002.m4s
            #EXT-X-ENDLIST
            """;
        var playlist = MediaPlaylist.Parse("http://b:2/s/tok/v/t/r1/index.m3u8", text);
        Assert.Equal("http://b:2/s/tok/v/t/r1/init.mp4", playlist.InitUri);
        Assert.Equal(new[] { ("http://b:2/s/tok/v/t/r1/seg-00001.m4s", 2.0), ("http://b:2/s/tok/v/t/r1/seg-00002.m4s", 1.5) }, playlist.Segments);
    }

    [Theory]
    [InlineData("--sessions", "50,x")]
    [InlineData("--segment", "6")]
    [InlineData("--sessions", "0")]
    [InlineData("--nope", "1")]
    [InlineData("--start-rate", "0")]
    public void Options_RejectBadInput(string name, string value) =>
        Assert.Throws<BenchUsageException>(() => PlayersOptions.Parse([name, value]));

    [Fact]
    public void Options_Defaults() =>
        Assert.Equal(new[] { 50, 200, 1000 }, PlayersOptions.Parse([]).Sessions);
}
