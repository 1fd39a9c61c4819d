using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using OpenConnect.Origin.Pipeline;
using OpenConnect.Testing;
using Xunit.Abstractions;

namespace OpenConnect.EndToEnd.Tests;

/// <summary>
/// A title with H.264 and AV1 rungs (the AV1 minimum height lowered to 240 so a small, quick source
/// gets both), published by the real origin pipeline and played through steering and an appliance
/// in headless Chromium with hls.js and dash.js: every rendition's <c>CODECS</c>/<c>codecs</c> is
/// the init segment's own codec string, Chromium's MSE supports each of them, and playback advances
/// both on the rendition the player picks and when it is switched to AV1.
/// </summary>
public sealed partial class CodecPlaybackTests(CodecPlaybackTests.CodecStack stack, ITestOutputHelper output) : IClassFixture<CodecPlaybackTests.CodecStack>
{
    private static readonly string[] ExpectedRenditions = ["144p", "240p", "360p", "240p-av1", "360p-av1"];

    [Fact]
    public async Task EveryRendition_AdvertisesItsInitSegmentsCodec_InThePlaylistAndTheMpd_AndChromiumSupportsIt()
    {
        var s = await stack.ReadyAsync();
        var manifests = await ReadManifestsAsync(s);

        Assert.Equal(ExpectedRenditions.Order(), manifests.Hls.Keys.Order());
        Assert.Equal(ExpectedRenditions.Order(), manifests.Dash.Keys.Order());
        using var http = new HttpClient();
        foreach (var (rendition, hlsCodecs) in manifests.Hls)
        {
            var init = await http.GetByteArrayAsync(manifests.TitleBase + rendition + "/init.mp4");
            var fromInit = CodecString.FromInitSegment(init);
            Assert.Equal(fromInit, hlsCodecs.Split(',')[0]);
            Assert.Equal(fromInit, manifests.Dash[rendition]);
            Assert.StartsWith(rendition.EndsWith("-av1", StringComparison.Ordinal) ? "av01." : "avc1.", fromInit, StringComparison.Ordinal);
            Assert.Equal(manifests.AudioCodecs, hlsCodecs.Split(',')[1]);
        }

        Assert.Equal(CodecString.FromInitSegment(await http.GetByteArrayAsync(manifests.TitleBase + "audio/init.mp4")), manifests.AudioCodecs);

        var codecs = manifests.Dash.Values.Append(manifests.AudioCodecs).Distinct().ToList();
        await using var browser = PlayerScript.Start("play-codecs.js", ["--player", "hls", "--play-url", s.PlayUrl.ToString(), "--codecs", string.Join(',', codecs), "--play-seconds", "0", "--timeout-seconds", "60"]);
        var result = await browser.ReadAsync("RESULT", TimeSpan.FromSeconds(120));
        var supported = result.GetProperty("supported").EnumerateArray().ToDictionary(x => x.GetProperty("codec").GetString()!, x => x.GetProperty("supported").GetBoolean());
        Assert.Equal(codecs.Order(), supported.Keys.Order());
        Assert.All(supported, x => Assert.True(x.Value, $"Chromium's MediaSource.isTypeSupported is false for {x.Key}"));
    }

    [Theory]
    [InlineData("hls", "")]
    [InlineData("dash", "")]
    [InlineData("hls", "av01")]
    [InlineData("dash", "av01")]
    public async Task Playback_Advances_OnARenditionWhoseCodecChromiumDecodes(string player, string force)
    {
        var s = await stack.ReadyAsync();
        var manifests = await ReadManifestsAsync(s);
        var codecs = manifests.Dash.Values.Distinct().ToList();

        await using var browser = PlayerScript.Start("play-codecs.js", ["--player", player, "--play-url", s.PlayUrl.ToString(), "--codecs", string.Join(',', codecs), "--force", force, "--play-seconds", "2", "--timeout-seconds", "90"]);
        var result = await browser.ReadAsync("RESULT", TimeSpan.FromSeconds(120));

        Assert.True(result.GetProperty("ok").GetBoolean(), $"{player} playback failed: {result}\n{browser.Transcript}");
        Assert.Equal(JsonValueKind.Null, result.GetProperty("fatal").ValueKind);
        Assert.True(result.GetProperty("currentTime").GetDouble() >= 2, result.ToString());
        var supported = result.GetProperty("supported").EnumerateArray().ToDictionary(x => x.GetProperty("codec").GetString()!, x => x.GetProperty("supported").GetBoolean());

        // The player saw both codecs, and what it plays is a codec Chromium decodes.
        var levels = result.GetProperty("levels").EnumerateArray().Select(l => l.GetProperty("videoCodec").GetString()!).ToList();
        Assert.Contains(levels, c => c.StartsWith("avc1.", StringComparison.Ordinal));
        Assert.Contains(levels, c => c.StartsWith("av01.", StringComparison.Ordinal));
        var played = result.GetProperty("played").GetProperty("videoCodec").GetString()!;
        output.WriteLine($"{player} {(force.Length > 0 ? "switched to " + force : "own choice")}: plays {result.GetProperty("played")} at {result.GetProperty("currentTime")} s");
        Assert.True(supported.TryGetValue(played, out var playable) && playable, $"{player} plays {played}, which Chromium does not decode: {result}");

        // The video segments came from the appliance, from renditions whose codec Chromium decodes.
        var appliance = s.Stack.Appliances[0];
        var fetched = result.GetProperty("segments").EnumerateArray()
            .Select(x => (Host: x.GetProperty("host").GetString()!, Status: x.GetProperty("status").GetInt32(), Match: SegmentPath().Match(x.GetProperty("path").GetString()!)))
            .Where(x => x.Match.Success && x.Match.Groups["rendition"].Value != "audio")
            .ToList();
        Assert.NotEmpty(fetched);
        Assert.All(fetched, x => Assert.Equal((appliance.HostAndPort, 200), (x.Host, x.Status)));
        var renditions = fetched.Select(x => x.Match.Groups["rendition"].Value).Distinct().ToList();
        Assert.All(renditions, r => Assert.True(supported[manifests.Dash[r]], $"{player} fetched {r} ({manifests.Dash[r]}), which Chromium does not decode"));
        if (force.Length > 0)
        {
            Assert.StartsWith("av01.", played, StringComparison.Ordinal);
            Assert.Contains(renditions, r => r.EndsWith("-av1", StringComparison.Ordinal));
        }
    }

    private static async Task<Advertised> ReadManifestsAsync(CodecStack.Ready s)
    {
        using var steering = s.Stack.Steering.CreateClient();
        using var play = JsonDocument.Parse(await steering.GetStringAsync(s.PlayUrl));
        var appliance = s.Stack.Appliances[0];
        var pathway = play.RootElement.GetProperty("dash").GetProperty("pathways").EnumerateArray()
            .Single(p => p.GetProperty("applianceId").GetString() == appliance.Id);
        var titleBase = pathway.GetProperty("url").GetString()!.Replace("manifest.mpd", "", StringComparison.Ordinal);

        using var http = new HttpClient();
        var playlist = (await http.GetStringAsync(titleBase + "master.m3u8")).Split('\n');
        var hls = new Dictionary<string, string>();
        for (var i = 0; i < playlist.Length - 1; i++)
        {
            var inf = StreamInf().Match(playlist[i]);
            if (inf.Success)
            {
                hls.Add(playlist[i + 1].Trim().Replace("/index.m3u8", "", StringComparison.Ordinal), inf.Groups["codecs"].Value);
            }
        }

        XNamespace ns = "urn:mpeg:dash:schema:mpd:2011";
        var mpd = XDocument.Parse(await http.GetStringAsync(titleBase + "manifest.mpd"));
        var sets = mpd.Descendants(ns + "AdaptationSet").ToList();
        var dash = sets.Where(a => (string?)a.Attribute("contentType") == "video").SelectMany(a => a.Elements(ns + "Representation"))
            .ToDictionary(r => (string)r.Attribute("id")!, r => (string)r.Attribute("codecs")!);
        var audio = sets.Single(a => (string?)a.Attribute("contentType") == "audio").Elements(ns + "Representation").Single();
        return new Advertised(titleBase, hls, dash, (string)audio.Attribute("codecs")!);
    }

    private sealed record Advertised(string TitleBase, Dictionary<string, string> Hls, Dictionary<string, string> Dash, string AudioCodecs);

    [GeneratedRegex("^#EXT-X-STREAM-INF:.*CODECS=\"(?<codecs>[^\"]+)\"")]
    private static partial Regex StreamInf();

    [GeneratedRegex("/(?<rendition>[0-9a-z-]+)/seg-[0-9]+\\.m4s$")]
    private static partial Regex SegmentPath();

    /// <summary>The stack once for the class: origin (real pipeline, H.264 and AV1), steering, one appliance, one title.</summary>
    public sealed class CodecStack : IAsyncLifetime
    {
        private readonly Lazy<Task<Ready>> _ready;

        public CodecStack() => _ready = new Lazy<Task<Ready>>(StartAsync);

        public sealed record Ready(SteeredStack Stack, string TitleId, Uri PlayUrl);

        public Task<Ready> ReadyAsync() => _ready.Value;

        private static async Task<Ready> StartAsync()
        {
            var stack = await SteeredStack.StartPipelineAsync(
                "openconnect-codec-stack",
                appliances: 1,
                "--Origin:Pipeline:Codecs:0=h264",
                "--Origin:Pipeline:Codecs:1=av1",
                "--Origin:Pipeline:CodecMinHeights:av1=240",
                "--Origin:Pipeline:SvtAv1Preset=12",
                "--Origin:Pipeline:MaxHeight=360",
                "--Origin:Pipeline:SegmentSeconds=2",
                "--Origin:Pipeline:ChunkSeconds=4");
            try
            {
                var source = await SampleMedia.GetAsync(SampleMedia.Mp4Small);
                var titleId = await PipelineTitles.PublishAsync(stack, source, new() { ["filename"] = "source.mp4", ["title"] = "h264 and av1" });
                var playUrl = new Uri(stack.SteeringUrl, $"/play/{titleId}");
                await stack.WaitForPathwaysAsync(titleId, pathways: 2);
                return new Ready(stack, titleId, playUrl);
            }
            catch
            {
                await stack.DisposeAsync();
                throw;
            }
        }

        public Task InitializeAsync() => Task.CompletedTask;

        // xunit 2 disposes class fixtures through IAsyncLifetime or IDisposable only: an
        // IAsyncDisposable fixture was never disposed, and its appliance process outlived the run.
        public async Task DisposeAsync()
        {
            if (_ready.IsValueCreated && _ready.Value.IsCompletedSuccessfully)
            {
                var ready = await _ready.Value;
                await ready.Stack.DisposeAsync();
            }
        }
    }
}
