using System.Net;
using System.Text.Json;
using System.Xml.Linq;
using Grpc.Core;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Contracts.Security;
using OpenConnect.Contracts.Steering.V1;
using OpenConnect.Steering.Selection;
using OpenConnect.Steering.Signing;

namespace OpenConnect.Steering.Tests;

/// <summary>
/// Steering on a dual-stack listener (127.0.0.1 and [::1]): each player gets the appliance URLs of
/// the family its request came in on, in every answer that carries URLs, and a token that works
/// over both families.
/// </summary>
public sealed class DualStackTests
{
    private static readonly ApplianceView Both = View("http://198.18.0.10:8400/", "http://[2001:2::10]:8400/");
    private static readonly ApplianceView OnlyOne = View("https://oca-1.isp.example:8400", null);

    [Theory]
    [InlineData("198.51.100.7", "http://198.18.0.10:8400")]
    [InlineData("::ffff:198.51.100.7", "http://198.18.0.10:8400")]
    [InlineData("2001:2:0:7::1", "http://[2001:2::10]:8400")]
    [InlineData("::1", "http://[2001:2::10]:8400")]
    [InlineData(null, "http://198.18.0.10:8400")]
    public void UrlFor_GivesTheClientsFamily_IPv4MappedBeingIPv4(string? client, string expected)
    {
        Assert.Equal(expected, Both.UrlFor(client is null ? null : IPAddress.Parse(client)));
        Assert.Equal("https://oca-1.isp.example:8400", OnlyOne.UrlFor(client is null ? null : IPAddress.Parse(client)));
    }

    [Theory]
    [InlineData("203.0.113.77", "203.0.113.0/24,::/0")]
    [InlineData("::ffff:203.0.113.77", "203.0.113.0/24,::/0")]
    [InlineData("2001:2:1234:5678::9", "2001:2:1234::/48,0.0.0.0/0")]
    public void BindingFor_NamesTheClientsPrefix_AndTheWholeOtherFamily(string client, string binding)
    {
        Assert.Equal(binding, TokenIssuer.BindingFor(IPAddress.Parse(client)));
    }

    [Theory]
    [InlineData("http://198.18.0.10:8400", "names an IPv4 address")]
    [InlineData("ftp://[2001:2::10]/", "absolute http:// or https://")]
    [InlineData("http://[2001:2::10]:8400/?x=1", "absolute http:// or https://")]
    [InlineData("/relative", "absolute http:// or https://")]
    public void DescribeIPv6_RefusesWhatAnIPv6PlayerCannotUse(string url, string problem)
    {
        Assert.Contains(problem, PlayerUrls.DescribeIPv6(url), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("http://[2001:2::10]:8400")]
    [InlineData("https://oca-1.v6.isp.example")]
    public void DescribeIPv6_AcceptsEmptyAHostNameOrAnIPv6Address(string url)
    {
        Assert.Null(PlayerUrls.DescribeIPv6(url));
    }

    [Fact]
    public async Task Register_RefusesAnIPv6UrlNamingAnIPv4Address()
    {
        await using var h = await SteeringHarness.StartAsync(withOrigin: false);
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await h.ControlFor("a1").RegisterAsync(new RegisterRequest
        {
            Identity = Identity("a1", "http://127.0.0.1:8401", "http://127.0.0.1:8402"),
            InstanceId = "i1",
        }));
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("public_url_ipv6 'http://127.0.0.1:8402' names an IPv4 address", ex.Status.Detail, StringComparison.Ordinal);
    }

    /// <summary>
    /// a1 registers both families, b1 (another site, holding the title) only an IPv4 URL. Over IPv4
    /// a player gets a1's IPv4 URL; over IPv6 a1's IPv6 URL, and b1 keeps its rank with its one URL
    /// (the documented fallback). The same holds in the HLS playlist, the MPD and the HLS steering
    /// manifest's clones (DASH gets none with v2 tokens), and each family's token admits the other family but not a foreign network
    /// of its own.
    /// </summary>
    [Fact]
    public async Task AnIPv6PlayerGetsIPv6Urls_AnIPv4PlayerIPv4Urls_InEveryAnswer()
    {
        await using var h = await SteeringHarness.StartAsync(true, "--urls", "http://127.0.0.1:0;http://[::1]:0");
        var addresses = h.Steering.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        var v6Address = addresses.Single(a => a.StartsWith("http://[::1]:", StringComparison.Ordinal));
        using var v4 = h.Steering.CreateClient();
        using var v6 = new HttpClient { BaseAddress = new Uri(v6Address), Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal("127.0.0.1", v4.BaseAddress!.Host);

        await h.ControlFor("a1").RegisterAsync(new RegisterRequest { Identity = Identity("a1", "http://127.0.0.1:8401", "http://[::1]:8401"), InstanceId = "a1-instance" });
        await h.HeartbeatAsync("a1", inventory: SteeringHarness.FullInventory(1, SteeringHarness.Title));
        await h.RegisterAsync("b1", "isp2", "http://127.0.0.2:8402");
        await h.HeartbeatAsync("b1", inventory: SteeringHarness.FullInventory(1, SteeringHarness.Title));

        var overV4 = await PlayAsync(v4);
        var overV6 = await PlayAsync(v6);
        Assert.Equal(["a1", "b1", "origin"], overV4.Ids);
        Assert.Equal(["a1", "b1", "origin"], overV6.Ids);
        Assert.StartsWith("http://127.0.0.1:8401/s/", overV4.Urls[0], StringComparison.Ordinal);
        Assert.StartsWith("http://[::1]:8401/s/", overV6.Urls[0], StringComparison.Ordinal);
        Assert.StartsWith("http://127.0.0.2:8402/s/", overV4.Urls[1], StringComparison.Ordinal);
        Assert.StartsWith("http://127.0.0.2:8402/s/", overV6.Urls[1], StringComparison.Ordinal);
        Assert.StartsWith(v6Address.TrimEnd('/') + "/play/t1/master.m3u8?session=", overV6.HlsUrl, StringComparison.Ordinal);

        // Tokens: bound to the issuing /24 or /48, open to the other family.
        var ring = PublicKeyRing.Empty;
        var macKeys = new PlaybackMacKeyRing(PlaybackMacKey.Load(h.State.Combine("steering", "keys", "origin-playback-mac.key")));
        var now = h.Time.GetUtcNow();
        var v4Token = TokenOf(overV4.Urls[0]);
        var v6Token = TokenOf(overV6.Urls[0]);
        Assert.Equal("127.0.0.0/24,::/0", UrlToken.Peek(v4Token)!.ClientPrefix);
        Assert.Equal("::/48,0.0.0.0/0", UrlToken.Peek(v6Token)!.ClientPrefix);
        Assert.Equal(TokenCheck.Valid, UrlToken.Verify(v4Token, ring, macKeys, now, "/v/t1/r0/seg-00001.m4s", IPAddress.IPv6Loopback));
        Assert.Equal(TokenCheck.Valid, UrlToken.Verify(v4Token, ring, macKeys, now, "/v/t1/r0/seg-00001.m4s", IPAddress.Parse("2001:2::1")));
        Assert.Equal(TokenCheck.WrongClient, UrlToken.Verify(v4Token, ring, macKeys, now, "/v/t1/r0/seg-00001.m4s", IPAddress.Parse("127.0.1.1")));
        Assert.Equal(TokenCheck.Valid, UrlToken.Verify(v6Token, ring, macKeys, now, "/v/t1/r0/seg-00001.m4s", IPAddress.Loopback));
        Assert.Equal(TokenCheck.Valid, UrlToken.Verify(v6Token, ring, macKeys, now, "/v/t1/r0/seg-00001.m4s", IPAddress.Parse("198.18.0.9")));
        Assert.Equal(TokenCheck.WrongClient, UrlToken.Verify(v6Token, ring, macKeys, now, "/v/t1/r0/seg-00001.m4s", IPAddress.Parse("2001:2::1")));

        // The steered HLS multivariant playlist.
        var hlsV4 = await v4.GetStringAsync("/play/t1/master.m3u8?session=s1");
        var hlsV6 = await v6.GetStringAsync("/play/t1/master.m3u8?session=s1");
        Assert.Contains("http://127.0.0.1:8401/s/", hlsV4, StringComparison.Ordinal);
        Assert.DoesNotContain("[::1]:8401", hlsV4, StringComparison.Ordinal);
        Assert.Contains("http://[::1]:8401/s/", hlsV6, StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.1:8401", hlsV6, StringComparison.Ordinal);
        Assert.Contains("http://127.0.0.2:8402/s/", hlsV6, StringComparison.Ordinal);
        Assert.Contains("SERVER-URI=\"" + v6Address.TrimEnd('/') + "/steering/hls/t1", hlsV6, StringComparison.Ordinal);

        // The DASH MPD's BaseURLs.
        XNamespace ns = "urn:mpeg:dash:schema:mpd:2011";
        var mpdV4 = XDocument.Parse(await v4.GetStringAsync("/play/t1/manifest.mpd?session=s1")).Root!.Elements(ns + "BaseURL").ToArray();
        var mpdV6 = XDocument.Parse(await v6.GetStringAsync("/play/t1/manifest.mpd?session=s1")).Root!.Elements(ns + "BaseURL").ToArray();
        Assert.Matches("^http://127\\.0\\.0\\.1:8401/s/[^/]+/v/t1/$", mpdV4[0].Value);
        Assert.Matches("^http://\\[::1\\]:8401/s/[^/]+/v/t1/$", mpdV6[0].Value);
        Assert.Matches("^http://127\\.0\\.0\\.2:8402/s/[^/]+/v/t1/$", mpdV6[1].Value);

        // Steering manifests: a player that knows only the origin gets a1 as a clone, with its family's host.
        var hlsCloneV4 = await CloneAsync(v4, "/steering/hls/t1?session=s1&pathways=origin&_HLS_pathway=origin");
        var hlsCloneV6 = await CloneAsync(v6, "/steering/hls/t1?session=s1&pathways=origin&_HLS_pathway=origin");
        Assert.Equal("127.0.0.1", hlsCloneV4.GetProperty("HOST").GetString());
        Assert.Equal("[::1]", hlsCloneV6.GetProperty("HOST").GetString());
        Assert.Matches("^http://\\[::1\\]:8401/s/[^/]+/v/t1/r0/index\\.m3u8$", hlsCloneV6.GetProperty("PER-VARIANT-URIS").GetProperty("v0").GetString());
        // A DASH clone keeps the MPD's token, which (v2) names only the appliances of the MPD's decision: none is offered.
        foreach (var client in new[] { v4, v6 })
        {
            using var dash = JsonDocument.Parse(await client.GetStringAsync("/steering/dash/t1?session=s1&pathways=origin"));
            Assert.False(dash.RootElement.TryGetProperty("PATHWAY-CLONES", out _));
        }
    }

    private static ApplianceView View(string url, string? ipv6) =>
        new("a1", "isp1", url, 1_000_000_000, 1000, new ApplianceStatus(DateTimeOffset.UnixEpoch, 0, 0, true, false, ApplianceStatus.NoTitles), ipv6);

    private static ApplianceIdentity Identity(string id, string url, string ipv6) =>
        new() { ApplianceId = id, Site = "isp1", PublicUrl = url, PublicUrlIpv6 = ipv6, CapacityBytesPerSecond = 1_000_000_000, MaxConnections = 1000, SsdBytes = 1 << 30 };

    private static async Task<(string[] Ids, string[] Urls, string HlsUrl)> PlayAsync(HttpClient client)
    {
        using var document = JsonDocument.Parse(await client.GetStringAsync("/play/t1"));
        var hls = document.RootElement.GetProperty("hls");
        var pathways = hls.GetProperty("pathways").EnumerateArray().ToArray();
        return (pathways.Select(p => p.GetProperty("id").GetString()!).ToArray(), pathways.Select(p => p.GetProperty("url").GetString()!).ToArray(), hls.GetProperty("url").GetString()!);
    }

    private static string TokenOf(string url)
    {
        Assert.True(UrlToken.TrySplitSignedPath(new Uri(url).AbsolutePath, out var token, out _), url);
        return token.ToString();
    }

    private static async Task<JsonElement> CloneAsync(HttpClient client, string path)
    {
        using var document = JsonDocument.Parse(await client.GetStringAsync(path));
        var clone = document.RootElement.GetProperty("PATHWAY-CLONES").EnumerateArray().Single(c => c.GetProperty("ID").GetString() == "a1");
        return clone.GetProperty("URI-REPLACEMENT").Clone();
    }
}
