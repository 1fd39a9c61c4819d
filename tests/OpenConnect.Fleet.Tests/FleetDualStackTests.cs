using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using OpenConnect.Testing;
using OpenConnect.Testing.Fleet;

namespace OpenConnect.Fleet.Tests;

/// <summary>
/// IPv6 end to end on the bed: a client asks steering on steering's IPv6 address, is sent to its
/// own site's appliances at their IPv6 URLs (<c>Appliance:PublicUrlIPv6</c>), and fetches every
/// playlist, init segment and media segment of the title from there over IPv6, byte for byte the
/// origin's published files; hls.js in Chromium, given steering's IPv6 master playlist, plays from
/// the same appliances over IPv6.
/// </summary>
[Collection(FleetCollection.Name)]
public sealed class FleetDualStackTests(FleetFixture fleet)
{
    private FleetBed Bed => fleet.Bed;

    [FleetFact]
    public async Task AClientOnIPv6_IsSentToItsSitesAppliancesIPv6Urls_AndPlaysTheTitleOverIPv6()
    {
        await fleet.ResetAsync();
        foreach (var (site, (appliances, client, _)) in FleetLaunch.Sites)
        {
            var (status, body) = await Bed.CurlAsync(client, $"{Bed.SteeringUrlIPv6}/play/{fleet.Title}");
            Assert.True(status == 200, $"/play over IPv6 from {client} answered {status}: {body}");
            var play = JsonDocument.Parse(body).RootElement;
            Assert.Equal(site, play.GetProperty("site").GetString());
            var pathways = play.GetProperty("hls").GetProperty("pathways").EnumerateArray().ToList();
            Assert.Equal(appliances.Order(), FleetBed.PathwayIds(play).Take(2).Order());
            foreach (var pathway in pathways.Where(p => p.GetProperty("applianceId").GetString() is { Length: > 0 }))
            {
                var id = pathway.GetProperty("applianceId").GetString()!;
                Assert.StartsWith(Bed.Host(id).UrlIPv6(FleetLaunch.AppliancePort) + "/", pathway.GetProperty("url").GetString(), StringComparison.Ordinal);
            }
        }

        // Site A's client plays from the first appliance steering offers it, every file over IPv6.
        var (siteA, clientA, _) = FleetLaunch.Sites["site-a"];
        var first = JsonDocument.Parse((await Bed.CurlAsync(clientA, $"{Bed.SteeringUrlIPv6}/play/{fleet.Title}")).Body).RootElement
            .GetProperty("hls").GetProperty("pathways")[0];
        var appliance = first.GetProperty("applianceId").GetString()!;
        Assert.Contains(appliance, siteA);
        var master = new Uri(first.GetProperty("url").GetString()!);
        var authority = new Uri(Bed.Host(appliance).UrlIPv6(FleetLaunch.AppliancePort)).Authority;

        var fetched = new List<Uri>();
        var masterText = await FetchVerifiedAsync(clientA, master, fetched);
        var mediaSegments = 0;
        foreach (var playlist in PlaylistUris.In(masterText).Select(u => new Uri(master, u)))
        {
            var text = await FetchVerifiedAsync(clientA, playlist, fetched);
            foreach (var file in PlaylistUris.In(text).Select(u => new Uri(playlist, u)))
            {
                await FetchVerifiedAsync(clientA, file, fetched);
                mediaSegments += file.AbsolutePath.EndsWith(".m4s", StringComparison.Ordinal) || file.AbsolutePath.EndsWith(".ts", StringComparison.Ordinal) ? 1 : 0;
            }
        }

        Assert.All(fetched, u => Assert.Equal(authority, u.Authority));
        // 40 s of 2 s segments in at least one rendition.
        Assert.True(mediaSegments >= 40 / FleetLaunch.SegmentSeconds, $"only {mediaSegments} media segments among {fetched.Count} files: {string.Join(' ', fetched)}");

        // The appliance saw the client's IPv6 address for every one of them.
        var clientAddress = Bed.Host(clientA).Ipv6;
        var last = $"/v/{fleet.Title}/{PathInTitle(fetched[^1])}";
        var served = await FleetAccessLog.WaitForAsync(Bed, appliance, $"{last} served to {clientAddress}", e => e.Client == clientAddress && e.Path == last);
        foreach (var path in fetched.Select(u => $"/v/{fleet.Title}/{PathInTitle(u)}"))
        {
            Assert.True(served.Any(e => e.Client == clientAddress && e.Path == path && e.Status == 200), $"{appliance}'s access log has no 200 for {path} to {clientAddress}");
        }

        // And a real player (hls.js in Chromium) given steering's IPv6 master playlist plays from the site's appliances over IPv6.
        await using var player = FleetPlayer.Start(Bed, clientA, $"{Bed.SteeringUrlIPv6}/play/{fleet.Title}/master.m3u8", playSeconds: 2, afterSeconds: 2, waitForGo: false);
        var result = await player.ReadAsync("RESULT", TimeSpan.FromSeconds(120));
        Assert.True(result.GetProperty("ok").GetBoolean(), player.Transcript);
        var playing = await player.ReadAsync("PLAYING", TimeSpan.FromSeconds(1));
        var hosts = result.GetProperty("hostsAfter").EnumerateArray().Select(h => h.GetString()!).Append(playing.GetProperty("host").GetString()!).Distinct().ToList();
        var siteAddresses = siteA.Select(id => $"[{Bed.Host(id).Ipv6}]").ToList();
        Assert.All(hosts, h => Assert.Contains(h, siteAddresses));
    }

    /// <summary>GETs <paramref name="uri"/> from <paramref name="client"/> into a file, checks it equals the origin's published file, and returns it as text.</summary>
    private async Task<string> FetchVerifiedAsync(string client, Uri uri, List<Uri> fetched)
    {
        var file = Bed.State.Combine(string.Create(CultureInfo.InvariantCulture, $"ipv6-{fetched.Count}.bin"));
        var result = await Bed.ExecAsync(client, ["curl", "-sS", "--max-time", "10", "-o", file, "-w", "%{http_code} %{remote_ip}", uri.ToString()], TimeSpan.FromSeconds(20));
        Assert.True(result.ExitCode == 0 && result.StandardOutput.StartsWith("200 ", StringComparison.Ordinal), $"GET {uri} from {client}: exit {result.ExitCode}, {result.StandardOutput} {result.StandardError}");
        Assert.Equal(uri.Host.Trim('[', ']'), result.StandardOutput[4..].Trim());

        var published = Path.Combine(Bed.PublishedDirectory, fleet.Title, PathInTitle(uri));
        Assert.True(File.Exists(published), $"{uri} names no published file ({published})");
        var body = await File.ReadAllBytesAsync(file);
        var expected = await File.ReadAllBytesAsync(published);
        Assert.True(Convert.ToHexString(SHA256.HashData(body)) == Convert.ToHexString(SHA256.HashData(expected)), $"{uri} differs from the published {published} ({body.Length} bytes, published {expected.Length})");
        fetched.Add(uri);
        return System.Text.Encoding.UTF8.GetString(body);
    }

    /// <summary>The part of a content URL after <c>/{title}/</c>: the file's path inside the published title.</summary>
    private string PathInTitle(Uri uri)
    {
        var marker = "/" + fleet.Title + "/";
        var at = uri.AbsolutePath.IndexOf(marker, StringComparison.Ordinal);
        Assert.True(at >= 0, $"{uri} is not a path of title {fleet.Title}");
        return uri.AbsolutePath[(at + marker.Length)..];
    }
}
