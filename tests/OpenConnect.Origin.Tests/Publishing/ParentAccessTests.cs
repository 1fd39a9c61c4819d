using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Contracts.Security;
using OpenConnect.Origin.Storage;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Publishing;

/// <summary>The parent endpoint is for appliances (by network) and for players with a token, nobody else.</summary>
public sealed class ParentAccessTests
{
    private static readonly Ed25519SigningKey Steering = Ed25519SigningKey.Generate();

    [Fact]
    public async Task Loopback_IsAParentNetwork_ByDefault()
    {
        using var dir = new TempDirectory();
        await using var origin = await RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={dir.Path}");
        await PublishAsync(origin, dir);
        using var client = origin.CreateClient();
        Assert.Equal("#EXTM3U\n", await client.GetStringAsync("/v/t1/master.m3u8"));
    }

    [Fact]
    public async Task OutsideTheParentNetworks_OnlyValidTokensAreServed()
    {
        using var dir = new TempDirectory();
        await using var origin = await StartOutsideParentNetworksAsync(dir);
        await PublishAsync(origin, dir);
        using var client = origin.CreateClient();

        var unsigned = await client.GetAsync("/v/t1/master.m3u8");
        Assert.Equal(HttpStatusCode.Forbidden, unsigned.StatusCode);
        Assert.Contains("playback token missing", await unsigned.Content.ReadAsStringAsync());

        var later = DateTimeOffset.UtcNow.AddMinutes(5);
        var good = UrlToken.Sign(Steering, later, UrlToken.TitlePrefix("t1"));
        Assert.Equal("#EXTM3U\n", await client.GetStringAsync(UrlToken.SignedPath(good, "/v/t1/master.m3u8")));

        var expired = await client.GetAsync(UrlToken.SignedPath(UrlToken.Sign(Steering, DateTimeOffset.UtcNow.AddSeconds(-1), UrlToken.TitlePrefix("t1")), "/v/t1/master.m3u8"));
        Assert.Equal(HttpStatusCode.Forbidden, expired.StatusCode);
        Assert.Contains("expired", await expired.Content.ReadAsStringAsync());

        var foreign = await client.GetAsync(UrlToken.SignedPath(UrlToken.Sign(Ed25519SigningKey.Generate(), later, UrlToken.TitlePrefix("t1")), "/v/t1/master.m3u8"));
        Assert.Equal(HttpStatusCode.Forbidden, foreign.StatusCode);
        Assert.Contains("unknown key", await foreign.Content.ReadAsStringAsync());

        var otherTitle = await client.GetAsync(UrlToken.SignedPath(UrlToken.Sign(Steering, later, UrlToken.TitlePrefix("t2")), "/v/t1/master.m3u8"));
        Assert.Equal(HttpStatusCode.Forbidden, otherTitle.StatusCode);
    }

    /// <summary>
    /// v2 tokens verify with the origin's MAC key file: a token naming the origin is served; one naming
    /// only appliances (or minted with an appliance's key), expired, for another title or another
    /// client network, or forging the origin's entry, is refused. Without the key file v2 is refused.
    /// </summary>
    [Theory]
    [InlineData("good", null)]
    [InlineData("appliances-only", "issued for other servers")]
    [InlineData("forged", "tampered")]
    [InlineData("expired", "expired")]
    [InlineData("other-title", "does not cover this path")]
    [InlineData("other-client", "another client network")]
    public async Task V2Tokens_VerifyWithTheOriginsKeyFile(string kind, string? reason)
    {
        using var dir = new TempDirectory();
        var keyFile = PlaybackMacKey.WriteOriginKeyFile(Steering, dir.Combine("keys", "origin-playback-mac.key"));
        await using var origin = await RunningRole.StartAsync(
            OriginHost.Build,
            $"--Origin:DataDirectory={dir.Path}",
            "--Origin:ParentNetworks:0=10.0.0.0/8",
            $"--Origin:PlaybackMacKeyFile={keyFile}");
        await PublishAsync(origin, dir);
        using var client = origin.CreateClient();

        var later = DateTimeOffset.UtcNow.AddMinutes(5);
        var t1 = UrlToken.TitlePrefix("t1");
        var own = PlaybackMacKey.Derive(Steering, PlaybackMacKey.OriginVerifier);
        var appliance = PlaybackMacKey.Derive(Steering, "oca-1");
        var token = kind switch
        {
            "good" => UrlToken.SignMac([appliance, own], later, t1),
            "appliances-only" => UrlToken.SignMac([appliance], later, t1),
            "forged" => Retag(UrlToken.SignMac([appliance], later, t1), own.Tag),
            "expired" => UrlToken.SignMac([own], DateTimeOffset.UtcNow.AddSeconds(-1), t1),
            "other-title" => UrlToken.SignMac([own], later, UrlToken.TitlePrefix("t2")),
            "other-client" => UrlToken.SignMac([own], later, t1, "203.0.113.0/24"),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
        var response = await client.GetAsync(UrlToken.SignedPath(token, "/v/t1/master.m3u8"));

        if (reason is null)
        {
            Assert.Equal("#EXTM3U\n", await response.Content.ReadAsStringAsync());
            using var otherDir = new TempDirectory();
            await using var withoutKey = await StartOutsideParentNetworksAsync(otherDir);
            var refused = await withoutKey.CreateClient().GetAsync(UrlToken.SignedPath(token, "/v/t1/master.m3u8"));
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("issued for other servers", await refused.Content.ReadAsStringAsync());
            return;
        }

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains(reason, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Posters_ArePublic_OutsideTheParentNetworks_AndNothingElseIs()
    {
        using var dir = new TempDirectory();
        await using var origin = await StartOutsideParentNetworksAsync(dir);
        byte[] jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 0xFF, 0xD9];
        await PublishAsync(origin, dir, ("poster.jpg", jpeg), ("storyboard.vtt", "WEBVTT\n"u8.ToArray()));
        using var client = origin.CreateClient();

        var poster = await client.GetAsync("/posters/t1.jpg");
        Assert.Equal(HttpStatusCode.OK, poster.StatusCode);
        Assert.Equal("image/jpeg", poster.Content.Headers.ContentType?.MediaType);
        Assert.Equal(jpeg, await poster.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/v/t1/poster.jpg")).StatusCode);

        // Only the poster: other files, other titles, and paths that are no title id are not served.
        foreach (var path in new[] { "/posters/t1.vtt", "/posters/t2.jpg", "/posters/..%2Ft1.jpg", "/posters/t1%2Fstoryboard.jpg", "/posters/.jpg", "/posters/t1" })
        {
            var response = await client.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{path}: {response.StatusCode}");
        }
    }

    [Fact]
    public async Task BadAccessSettings_AreRejected_AtStart_NamingTheKey()
    {
        using var dir = new TempDirectory();
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={dir.Path}", "--Origin:ParentNetworks:0=10.0.0.0/33", "--Origin:PlaybackKeys:0=bm90LWEta2V5", $"--Origin:PlaybackMacKeyFile={dir.Combine("absent.key")}"));
        var message = OpenConnect.Hosting.RoleHost.DescribeStartupFailure(failure);
        Assert.Contains("Origin:ParentNetworks:0", message);
        Assert.Contains("Origin:PlaybackKeys:0", message);
        Assert.Contains("Origin:PlaybackMacKeyFile", message);
    }

    /// <summary>A token whose entry carries <paramref name="tag"/> (another verifier's) over a MAC made with a different key.</summary>
    private static string Retag(string token, uint tag)
    {
        var dot = token.IndexOf('.');
        var entry = System.Buffers.Text.Base64Url.DecodeFromChars(token.AsSpan(dot + 1));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(entry, tag);
        return string.Concat(token.AsSpan(0, dot + 1), System.Buffers.Text.Base64Url.EncodeToString(entry));
    }

    /// <summary>An origin whose parent networks leave out loopback, so the tests' client is a player.</summary>
    private static Task<RunningRole> StartOutsideParentNetworksAsync(TempDirectory dir) => RunningRole.StartAsync(
        OriginHost.Build,
        $"--Origin:DataDirectory={dir.Path}",
        "--Origin:ParentNetworks:0=10.0.0.0/8",
        $"--Origin:PlaybackKeys:0={Steering.PublicKey}");

    private static async Task PublishAsync(RunningRole origin, TempDirectory dir, params (string Name, byte[] Content)[] more)
    {
        var staging = Path.Combine(dir.Path, "staging");
        Directory.CreateDirectory(staging);
        await File.WriteAllTextAsync(Path.Combine(staging, "master.m3u8"), "#EXTM3U\n");
        foreach (var (name, content) in more)
        {
            await File.WriteAllBytesAsync(Path.Combine(staging, name), content);
        }

        await origin.Services.GetRequiredService<IObjectStore>().PublishAsync("t1", staging, CancellationToken.None);
    }
}
