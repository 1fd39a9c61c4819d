using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace OpenConnect.Steering.Tests;

public sealed class ContentSteeringTests
{
    [Fact]
    public async Task Multivariant_CarriesEveryVariantOncePerPathway_WithPathwayIds_SteeringTag_AndAbsoluteSignedUris()
    {
        await using var h = await SteeringHarness.StartAsync();
        await h.RegisterAsync("a1", "isp1", "http://127.0.0.1:8401");
        await h.HeartbeatAsync("a1", inventory: SteeringHarness.FullInventory(1, "t1"));
        await h.RegisterAsync("a2", "isp1", "http://127.0.0.1:8402");
        await h.HeartbeatAsync("a2");

        var response = await h.Http.GetAsync("/play/t1/master.m3u8?session=abc123");
        Assert.Equal("application/vnd.apple.mpegurl", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("#EXTM3U", lines[0]);

        var steering = Assert.Single(lines, l => l.StartsWith("#EXT-X-CONTENT-STEERING:", StringComparison.Ordinal));
        Assert.Equal("a1", Attribute(steering, "PATHWAY-ID"));
        var serverUri = Attribute(steering, "SERVER-URI")!;
        Assert.StartsWith(h.Steering.BaseAddress + "steering/hls/t1?session=abc123&pathways=", serverUri, StringComparison.Ordinal);

        // Variants grouped by pathway: the origin package has 2 variants and 1 audio rendition.
        var variants = lines.Select((l, i) => (l, i)).Where(x => x.l.StartsWith("#EXT-X-STREAM-INF:", StringComparison.Ordinal))
            .Select(x => (Attrs: x.l, Uri: lines[x.i + 1])).ToArray();
        var byPathway = variants.GroupBy(v => Attribute(v.Attrs, "PATHWAY-ID")).ToDictionary(g => g.Key!, g => g.ToArray());
        Assert.Equal(["a1", "a2", "origin"], byPathway.Keys.Order());
        var hosts = new Dictionary<string, string> { ["a1"] = "http://127.0.0.1:8401", ["a2"] = "http://127.0.0.1:8402", ["origin"] = h.Origin!.BaseAddress.ToString().TrimEnd('/') };
        foreach (var (pathway, list) in byPathway)
        {
            Assert.Equal(2, list.Length);
            Assert.Equal(["v0", "v1"], list.Select(v => Attribute(v.Attrs, "STABLE-VARIANT-ID")));
            Assert.All(list, v => Assert.Matches($"^{Regex.Escape(hosts[pathway])}/s/[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+/v/t1/r[01]/index\\.m3u8$", v.Uri));
            Assert.All(list, v => Assert.Equal("group_A1." + pathway, Attribute(v.Attrs, "AUDIO")));
            Assert.All(list, v => Assert.NotNull(Attribute(v.Attrs, "BANDWIDTH")));
        }

        var media = lines.Where(l => l.StartsWith("#EXT-X-MEDIA:", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, media.Length);
        foreach (var pathway in hosts.Keys)
        {
            var audio = Assert.Single(media, m => Attribute(m, "GROUP-ID") == "group_A1." + pathway);
            Assert.Matches($"^{Regex.Escape(hosts[pathway])}/s/[^/]+/v/t1/r2/index\\.m3u8$", Attribute(audio, "URI"));
            Assert.Equal("r0", Attribute(audio, "STABLE-RENDITION-ID"));
        }

        // The signed rendition playlists are really there on the origin under /v/ (the token path is what appliances verify).
        var origin = h.Origin.CreateClient();
        var mediaPath = new Uri(byPathway["origin"][0].Uri).AbsolutePath;
        var contentPath = mediaPath[mediaPath.IndexOf("/v/", StringComparison.Ordinal)..];
        Assert.Contains("#EXT-X-MAP:URI=\"init.mp4\"", await origin.GetStringAsync(contentPath), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HlsSteeringManifest_FollowsTheLiveRegistry_KeepsTheCurrentPathway_AndClonesNewAppliances()
    {
        await using var h = await SteeringHarness.StartAsync();
        await h.RegisterAsync("a1", "isp1", "http://127.0.0.1:8401");
        await h.HeartbeatAsync("a1");
        await h.RegisterAsync("a2", "isp1", "http://127.0.0.1:8402");
        await h.HeartbeatAsync("a2");

        var playlist = await h.Http.GetStringAsync("/play/t1/master.m3u8");
        var serverUri = Attribute(playlist.Split('\n').Single(l => l.StartsWith("#EXT-X-CONTENT-STEERING:", StringComparison.Ordinal)), "SERVER-URI")!;
        var best = Attribute(playlist.Split('\n').Single(l => l.StartsWith("#EXT-X-CONTENT-STEERING:", StringComparison.Ordinal)), "PATHWAY-ID")!;
        var other = best == "a1" ? "a2" : "a1";

        var manifest = await SteerAsync(h, serverUri);
        Assert.Equal(1, manifest.GetProperty("VERSION").GetInt32());
        Assert.Equal(10, manifest.GetProperty("TTL").GetInt32());
        Assert.Equal(serverUri, manifest.GetProperty("RELOAD-URI").GetString());
        Assert.Equal([best, other, "origin"], Priority(manifest));
        Assert.False(manifest.TryGetProperty("PATHWAY-CLONES", out _));

        // The player reports it is on the other appliance: it stays first while healthy (no flapping).
        manifest = await SteerAsync(h, serverUri + $"&_HLS_pathway={other}&_HLS_throughput=5000000");
        Assert.Equal([other, best, "origin"], Priority(manifest));

        // That appliance dies: it drops out and the player moves on.
        h.Time.Advance(TimeSpan.FromSeconds(2));
        await h.HeartbeatAsync(best);
        h.Time.Advance(TimeSpan.FromSeconds(1.5));
        manifest = await SteerAsync(h, serverUri + $"&_HLS_pathway={other}&_HLS_throughput=5000000");
        Assert.Equal([best, "origin"], Priority(manifest));

        // A new appliance that the playlist does not list arrives as a clone of the origin pathway.
        await h.RegisterAsync("a3", "isp1", "http://127.0.0.3:8403");
        await h.HeartbeatAsync("a3", inventory: SteeringHarness.FullInventory(1, "t1"));
        manifest = await SteerAsync(h, serverUri);
        Assert.Equal("a3", Priority(manifest)[0]);
        var clone = Assert.Single(manifest.GetProperty("PATHWAY-CLONES").EnumerateArray());
        Assert.Equal("origin", clone.GetProperty("BASE-ID").GetString());
        Assert.Equal("a3", clone.GetProperty("ID").GetString());
        var replacement = clone.GetProperty("URI-REPLACEMENT");
        Assert.Equal("127.0.0.3", replacement.GetProperty("HOST").GetString());
        Assert.Matches("^http://127\\.0\\.0\\.3:8403/s/[^/]+/v/t1/r0/index\\.m3u8$", replacement.GetProperty("PER-VARIANT-URIS").GetProperty("v0").GetString());
        Assert.Matches("^http://127\\.0\\.0\\.3:8403/s/[^/]+/v/t1/r2/index\\.m3u8$", replacement.GetProperty("PER-RENDITION-URIS").GetProperty("r0").GetString());

        var metrics = await h.Steering.MetricsAsync();
        Assert.Equal(1, metrics.Value("openconnect_steering_manifest_requests_total", ("protocol", "hls"), ("current", "kept")));
        Assert.Equal(2, metrics.Value("openconnect_steering_reported_throughput_bytes_per_second_count", ("protocol", "hls")));
        // Two reports of 5 Mbit/s, recorded in bytes per second.
        Assert.Equal(2 * 625_000, metrics.Value("openconnect_steering_reported_throughput_bytes_per_second_sum", ("protocol", "hls")));
    }

    /// <summary>
    /// The MPD and its steering manifest. A new appliance is cloned for DASH only with v1 tokens: a
    /// clone keeps the origin location's path, and so its token, which with v2 names only the
    /// appliances of the MPD's decision.
    /// </summary>
    [Theory]
    [InlineData("Mac")]
    [InlineData("Ed25519")]
    public async Task Mpd_HasABaseUrlPerServiceLocation_AndContentSteering_AndTheDashSteeringManifestAnswers(string tokenFormat)
    {
        await using var h = await SteeringHarness.StartAsync(true, $"--Steering:TokenFormat={tokenFormat}");
        await h.RegisterAsync("a1", "isp1", "http://127.0.0.1:8401");
        await h.HeartbeatAsync("a1");

        var response = await h.Http.GetAsync("/play/t1/manifest.mpd?session=s1");
        Assert.Equal("application/dash+xml", response.Content.Headers.ContentType?.MediaType);
        var mpd = XDocument.Parse(await response.Content.ReadAsStringAsync());
        XNamespace ns = "urn:mpeg:dash:schema:mpd:2011";
        var root = mpd.Root!;
        Assert.Equal(ns + "MPD", root.Name);
        var baseUrls = root.Elements(ns + "BaseURL").ToArray();
        Assert.Equal(["a1", "origin"], baseUrls.Select(b => (string?)b.Attribute("serviceLocation")));
        Assert.Matches("^http://127\\.0\\.0\\.1:8401/s/[^/]+/v/t1/$", baseUrls[0].Value);
        Assert.StartsWith(h.Origin!.BaseAddress + "s/", baseUrls[1].Value, StringComparison.Ordinal);
        var steering = Assert.Single(root.Elements(ns + "ContentSteering"));
        Assert.Equal("a1", (string?)steering.Attribute("defaultServiceLocation"));
        // The MPD already carries the decision: no steering query in series before the first segment.
        Assert.Equal("false", (string?)steering.Attribute("queryBeforeStart"));
        Assert.StartsWith(h.Steering.BaseAddress + "steering/dash/t1?session=s1&pathways=", steering.Value, StringComparison.Ordinal);
        // The periods, adaptation sets and segment templates of the origin's MPD are kept.
        Assert.Equal(3, root.Descendants(ns + "Representation").Count());
        Assert.All(root.Descendants(ns + "SegmentTemplate"), t => Assert.Equal("r$RepresentationID$/seg-$Number%05d$.m4s", (string?)t.Attribute("media")));

        var manifest = await SteerAsync(h, steering.Value + "&_DASH_pathway=%22a1,origin%22&_DASH_throughput=4000000,");
        Assert.Equal(1, manifest.GetProperty("VERSION").GetInt32());
        Assert.Equal(["a1", "origin"], Priority(manifest));

        // A new appliance: with v1 tokens it is cloned from the origin location with its full
        // scheme://host:port (dash.js keeps the path); with v2 the MPD's token does not name it, so it is not offered.
        await h.RegisterAsync("a2", "isp1", "http://127.0.0.2:8402");
        await h.HeartbeatAsync("a2", inventory: SteeringHarness.FullInventory(1, "t1"));
        manifest = await SteerAsync(h, steering.Value);
        if (tokenFormat == "Mac")
        {
            Assert.Equal(["a1", "origin"], Priority(manifest));
            Assert.False(manifest.TryGetProperty("PATHWAY-CLONES", out _));
        }
        else
        {
            Assert.Equal(["a2", "a1", "origin"], Priority(manifest));
            var clone = Assert.Single(manifest.GetProperty("PATHWAY-CLONES").EnumerateArray());
            Assert.Equal("http://127.0.0.2:8402", clone.GetProperty("URI-REPLACEMENT").GetProperty("HOST").GetString());
        }

        h.Time.Advance(TimeSpan.FromSeconds(4));
        manifest = await SteerAsync(h, steering.Value);
        Assert.Equal(["origin"], Priority(manifest));
    }

    private static async Task<JsonElement> SteerAsync(SteeringHarness h, string uri)
    {
        var response = await h.Http.GetAsync(uri);
        Assert.True(response.IsSuccessStatusCode, $"{uri}: {(int)response.StatusCode}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static string[] Priority(JsonElement manifest) =>
        manifest.GetProperty("PATHWAY-PRIORITY").EnumerateArray().Select(e => e.GetString()!).ToArray();

    private static string? Attribute(string line, string name)
    {
        var match = Regex.Match(line, $"[:,]{Regex.Escape(name)}=(\"(?<q>[^\"]*)\"|(?<v>[^,]*))");
        return !match.Success ? null : match.Groups["q"].Success ? match.Groups["q"].Value : match.Groups["v"].Value;
    }
}
