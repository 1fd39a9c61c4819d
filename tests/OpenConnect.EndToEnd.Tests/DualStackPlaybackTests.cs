using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenConnect.Appliance;
using OpenConnect.Contracts.Security;
using OpenConnect.Origin;
using OpenConnect.Origin.Publishing;
using OpenConnect.Origin.Storage;
using OpenConnect.Steering;
using OpenConnect.Steering.ControlPlane;
using OpenConnect.Testing;

namespace OpenConnect.EndToEnd.Tests;

/// <summary>
/// A title plays over IPv6 end to end on loopback: a player on [::1] asks steering (listening on
/// 127.0.0.1 and [::1]) and is sent to the appliance's IPv6 URL, which fills from an origin that
/// listens on [::1] only. Every playlist, init segment and media segment arrives byte for byte.
/// </summary>
public sealed class DualStackPlaybackTests
{
    private const string Title = "t1";

    [Fact]
    public async Task ATitlePlaysOverIPv6_SteeringToTheAppliancesIPv6Url_FilledFromAnIPv6Origin()
    {
        using var state = new TempDirectory("openconnect-dualstack");
        var key = Ed25519SigningKey.LoadOrCreate(state.Combine("steering", "keys", "steering-signing.key"));
        var reference = state.Combine("reference");
        await PackagedTitle.CopyToAsync(reference);

        await using var origin = await RunningRole.StartAsync(OriginHost.Build, "--urls", "http://[::1]:0", $"--Origin:DataDirectory={state.Combine("origin")}", $"--Origin:PlaybackKeys:0={key.PublicKey}", $"--Origin:PlaybackMacKeyFile={PlaybackMacKey.WriteOriginKeyFile(key, state.Combine("steering", "keys", "origin-playback-mac.key"))}");
        var staging = state.Combine("staging");
        await PackagedTitle.CopyToAsync(staging);
        await origin.Services.GetRequiredService<ITitlePublisher>().WriteIntegrityManifestAsync(Title, staging, CancellationToken.None);
        await origin.Services.GetRequiredService<IObjectStore>().PublishAsync(Title, staging, CancellationToken.None);
        var originKey = (await File.ReadAllTextAsync(Path.ChangeExtension(origin.Services.GetRequiredService<IOptions<OriginOptions>>().Value.SigningKeyPath, ".pub"))).Trim();
        Assert.Equal("[::1]", origin.BaseAddress.Host);

        Directory.CreateDirectory(state.Combine("steering", "prefixes"));
        await File.WriteAllTextAsync(state.Combine("steering", "prefixes", "local.prefixes"), "127.0.0.0/8\n::1/128\n");
        // The fleet CA steering loads, and the appliance's certificate issued by it up front (enrolled).
        using var fleet = FleetCertificates.Create(state.Combine("steering", "fleet"));
        await using var steering = await RunningRole.StartAsync(
            SteeringHost.Build,
            "--urls", "http://127.0.0.1:0;http://[::1]:0",
            $"--Steering:DataDirectory={state.Combine("steering")}",
            "--Steering:ControlUrl=https://127.0.0.1:0",
            "--Steering:Fleet:EnrollUrl=https://127.0.0.1:0",
            $"--Steering:OriginUrl={origin.BaseAddress.ToString().TrimEnd('/')}");
        fleet.WriteAppliance(state.Combine("oca-6-fleet"), "local", "oca-6").Dispose();
        await using var appliance = await RunningRole.StartAsync(
            ApplianceHost.Build,
        [
            "--urls", "http://127.0.0.1:0;http://[::1]:0",
            "--Appliance:Id=oca-6",
            "--Appliance:Site=local",
            "--Appliance:ControlUrl=https://127.0.0.1:0",
            $"--Appliance:Cache:Directory={state.Combine("oca-6")}",
            "--Appliance:Cache:RamBytes=67108864",
            "--Appliance:Cache:SsdBytes=268435456",
            $"--Appliance:Parents:0={origin.BaseAddress}",
            $"--Appliance:Steering:Url={steering.Services.GetRequiredService<ControlEndpoint>().Address}",
            "--Appliance:Steering:HeartbeatInterval=00:00:00.2",
            $"--Appliance:PlaybackKeys:0={key.PublicKey}",
            $"--Appliance:Upstream:IntegrityKeys:0={originKey}",
            .. fleet.ApplianceSettings(state.Combine("oca-6-fleet")),
        ]);
        var applianceV6 = IPv6Address(appliance);

        // The player reaches steering over IPv6 and is sent to the appliance's IPv6 URL.
        using var player = new HttpClient { BaseAddress = IPv6Address(steering), Timeout = TimeSpan.FromSeconds(30) };
        var (pathways, urls) = await PlayWhenOfferedAsync(player, "oca-6");
        Assert.Equal(["oca-6", "origin"], pathways);
        var master = new Uri(urls[0]);
        Assert.Equal(applianceV6.Authority, master.Authority);
        Assert.StartsWith(origin.BaseAddress + "s/", urls[1], StringComparison.Ordinal);

        // Play: the multivariant playlist, every rendition's playlist, init and segments, from the appliance over IPv6.
        var fetched = 0;
        var masterText = await GetVerifiedAsync(player, master, Path.Combine(reference, "master.m3u8"));
        fetched++;
        foreach (var playlist in PlaylistUris.In(masterText))
        {
            var playlistUri = new Uri(master, playlist);
            Assert.Equal(applianceV6.Authority, playlistUri.Authority);
            var text = await GetVerifiedAsync(player, playlistUri, Path.Combine(reference, playlist));
            fetched++;
            foreach (var file in PlaylistUris.In(text))
            {
                var relative = Path.Combine(Path.GetDirectoryName(playlist)!, file);
                await GetVerifiedAsync(player, new Uri(playlistUri, file), Path.Combine(reference, relative));
                fetched++;
            }
        }

        // Two video renditions and one audio rendition, each with a playlist, an init segment and 4 s of 1 s segments.
        Assert.True(fetched >= 1 + (3 * 6), $"only {fetched} files fetched");
    }

    private static Uri IPv6Address(RunningRole role)
    {
        var addresses = role.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        return new Uri(addresses.First(a => a.StartsWith("http://[::1]:", StringComparison.Ordinal)));
    }

    private static async Task<(string[] Ids, string[] Urls)> PlayWhenOfferedAsync(HttpClient player, string applianceId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            using var play = JsonDocument.Parse(await player.GetStringAsync($"/play/{Title}"));
            var pathways = play.RootElement.GetProperty("hls").GetProperty("pathways").EnumerateArray().ToArray();
            var ids = pathways.Select(p => p.GetProperty("id").GetString()!).ToArray();
            if (ids.Contains(applianceId))
            {
                return (ids, pathways.Select(p => p.GetProperty("url").GetString()!).ToArray());
            }

            Assert.True(DateTime.UtcNow < deadline, $"steering never offered {applianceId}: {play.RootElement}");
            await Task.Delay(100);
        }
    }

    /// <summary>Fetches <paramref name="uri"/> and checks it is the published file byte for byte; returns it as text.</summary>
    private static async Task<string> GetVerifiedAsync(HttpClient player, Uri uri, string publishedFile)
    {
        using var response = await player.GetAsync(uri);
        Assert.True(response.IsSuccessStatusCode, $"{uri}: HTTP {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(Convert.ToHexString(SHA256.HashData(await File.ReadAllBytesAsync(publishedFile))), Convert.ToHexString(SHA256.HashData(body)));
        return System.Text.Encoding.UTF8.GetString(body);
    }
}
