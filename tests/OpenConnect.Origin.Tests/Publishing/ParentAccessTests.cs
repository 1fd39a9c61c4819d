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
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={dir.Path}", "--Origin:ParentNetworks:0=10.0.0.0/33", "--Origin:PlaybackKeys:0=bm90LWEta2V5"));
        var message = OpenConnect.Hosting.RoleHost.DescribeStartupFailure(failure);
        Assert.Contains("Origin:ParentNetworks:0", message);
        Assert.Contains("Origin:PlaybackKeys:0", message);
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
