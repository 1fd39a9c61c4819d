using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using OpenConnect.Contracts.Security;

namespace OpenConnect.Steering.Tests;

public sealed class PlayTests
{
    [Fact]
    public async Task Play_ReturnsRankedSignedUrls_ThatVerifyWithEachPathwaysOwnKey_ForThisTitleOnly()
    {
        await using var h = await SteeringHarness.StartAsync();
        var a1Key = new PlaybackMacKey((await h.RegisterAsync("a1", "isp1", "http://127.0.0.1:8401")).PlaybackKey.Span);
        await h.HeartbeatAsync("a1", inventory: SteeringHarness.FullInventory(1, SteeringHarness.Title));
        await h.RegisterAsync("b1", "isp2", "http://127.0.0.2:8401");
        var b1Key = new PlaybackMacKey((await h.HeartbeatAsync("b1", inventory: SteeringHarness.FullInventory(1, SteeringHarness.Title))).PlaybackKey.Span);
        var c1Key = new PlaybackMacKey((await h.RegisterAsync("c1", "isp3", "http://127.0.0.3:8401")).PlaybackKey.Span);

        var play = await h.GetJsonAsync("/play/t1");
        Assert.Equal("t1", play.GetProperty("titleId").GetString());
        Assert.Equal("isp1", play.GetProperty("site").GetString());
        var expires = play.GetProperty("expires").GetDateTimeOffset();
        Assert.InRange(expires - h.Time.GetUtcNow(), TimeSpan.FromHours(6), TimeSpan.FromHours(6.2));

        var hls = play.GetProperty("hls");
        Assert.StartsWith(h.Steering.BaseAddress + "play/t1/master.m3u8?session=", hls.GetProperty("url").GetString(), StringComparison.Ordinal);
        var pathways = hls.GetProperty("pathways").EnumerateArray().ToArray();
        Assert.Equal(["a1", "b1", "origin"], pathways.Select(p => p.GetProperty("id").GetString()));
        Assert.Equal("a1", pathways[0].GetProperty("applianceId").GetString());
        Assert.Equal("isp2", pathways[1].GetProperty("site").GetString());
        Assert.Equal(JsonValueKind.Null, pathways[2].GetProperty("applianceId").ValueKind);
        Assert.StartsWith("http://127.0.0.1:8401/s/", pathways[0].GetProperty("url").GetString(), StringComparison.Ordinal);
        Assert.EndsWith("/v/t1/master.m3u8", pathways[0].GetProperty("url").GetString(), StringComparison.Ordinal);
        Assert.StartsWith(h.Origin!.BaseAddress + "s/", pathways[2].GetProperty("url").GetString(), StringComparison.Ordinal);
        Assert.EndsWith("/v/t1/manifest.mpd", play.GetProperty("dash").GetProperty("pathways")[0].GetProperty("url").GetString(), StringComparison.Ordinal);

        // The token (a v2 one) verifies with the key each pathway's appliance got in its control-plane
        // replies, and with the origin's key file: for t1, this client's /24, not another title. An
        // appliance the decision does not name (c1) cannot verify it.
        var published = (await h.GetJsonAsync("/keys")).GetProperty("keys")[0];
        Assert.Equal(published.GetProperty("publicKey").GetString(), (await File.ReadAllTextAsync(h.State.Combine("steering", "keys", "steering-signing.pub"))).Trim());
        var originKey = PlaybackMacKey.Load(h.State.Combine("steering", "keys", "origin-playback-mac.key"));
        Assert.True(UrlToken.TrySplitSignedPath(new Uri(pathways[0].GetProperty("url").GetString()!).AbsolutePath, out var token, out var content));
        var now = h.Time.GetUtcNow();
        var ring = new PlaybackMacKeyRing(a1Key);
        Assert.Equal(UrlToken.MacKeyId, UrlToken.Peek(token)!.KeyId);
        Assert.Equal(TokenCheck.Valid, UrlToken.Verify(token, PublicKeyRing.Empty, ring, now, content, IPAddress.Loopback));
        Assert.Equal(TokenCheck.Valid, UrlToken.Verify(token, PublicKeyRing.Empty, ring, now, "/v/t1/r0/seg-00001.m4s", IPAddress.Parse("127.0.0.77")));
        Assert.Equal(TokenCheck.WrongPath, UrlToken.Verify(token, PublicKeyRing.Empty, ring, now, "/v/t2/master.m3u8", IPAddress.Loopback));
        Assert.Equal(TokenCheck.WrongClient, UrlToken.Verify(token, PublicKeyRing.Empty, ring, now, content, IPAddress.Parse("127.0.1.1")));
        Assert.Equal(TokenCheck.Expired, UrlToken.Verify(token, PublicKeyRing.Empty, ring, expires, content, IPAddress.Loopback));
        Assert.Equal(TokenCheck.Valid, UrlToken.Verify(token, PublicKeyRing.Empty, new PlaybackMacKeyRing(b1Key), now, content, IPAddress.Loopback));
        Assert.Equal(TokenCheck.Valid, UrlToken.Verify(token, PublicKeyRing.Empty, new PlaybackMacKeyRing(originKey), now, content, IPAddress.Loopback));
        Assert.Equal(TokenCheck.UnknownKey, UrlToken.Verify(token, PublicKeyRing.Empty, new PlaybackMacKeyRing(c1Key), now, content, IPAddress.Loopback));
        // v2 needs no public key: steering's Ed25519 key (at /keys and in the .pub file) does not verify it.
        Assert.Equal(TokenCheck.UnknownKey, UrlToken.Verify(token, PublicKeyRing.Parse([published.GetProperty("publicKey").GetString()!]), now, content, IPAddress.Loopback));
    }

    [Fact]
    public async Task Play_RedirectMode_Answers302ToTheBestPathway_And404And400AreJson()
    {
        await using var h = await SteeringHarness.StartAsync();
        await h.RegisterAsync("a1", "isp1", "http://127.0.0.1:8401");
        await h.HeartbeatAsync("a1");
        using var noRedirect = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = h.Steering.BaseAddress };

        var hls = await noRedirect.GetAsync("/play/t1?redirect=hls");
        Assert.Equal(HttpStatusCode.Redirect, hls.StatusCode);
        Assert.Matches("^http://127\\.0\\.0\\.1:8401/s/[^/]+/v/t1/master\\.m3u8$", hls.Headers.Location!.ToString());

        using var request = new HttpRequestMessage(HttpMethod.Get, "/play/t1");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/dash+xml"));
        var dash = await noRedirect.SendAsync(request);
        Assert.Equal(HttpStatusCode.Redirect, dash.StatusCode);
        Assert.EndsWith("/v/t1/manifest.mpd", dash.Headers.Location!.ToString(), StringComparison.Ordinal);

        var missing = await h.Http.GetAsync("/play/nosuchtitle");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("not published", (await missing.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await h.Http.GetAsync("/play/nosuchtitle/master.m3u8")).StatusCode);

        foreach (var bad in new[] { "/play/bad.title", "/play/" + new string('a', 65), "/play/t%21/master.m3u8", "/steering/hls/t.1", "/play/t.1/manifest.mpd" })
        {
            var response = await h.Http.GetAsync(bad);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("not a valid title id", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString(), StringComparison.Ordinal);
        }

        // Players run on other origins.
        using var cors = new HttpRequestMessage(HttpMethod.Get, "/play/t1");
        cors.Headers.Add("Origin", "https://player.example");
        Assert.Equal("*", (await h.Http.SendAsync(cors)).Headers.GetValues("Access-Control-Allow-Origin").Single());
    }
}
