using System.Text.Json;
using OpenConnect.Testing.Fleet;

namespace OpenConnect.Fleet.Tests;

/// <summary>
/// The fleet's behaviours across hosts: site mapping by client prefix, failover within a site when
/// an appliance is killed, a whole site down, and an appliance cut off from steering. Players are
/// hls.js in Chromium in the client namespaces; every role is its release binary in its namespace.
/// </summary>
[Collection(FleetCollection.Name)]
public sealed class FleetBehaviourTests(FleetFixture fleet)
{
    private FleetBed Bed => fleet.Bed;

    private string MasterUrl => $"{Bed.SteeringUrl}/play/{fleet.Title}/master.m3u8";

    [FleetFact]
    public async Task Clients_AreSentToTheAppliancesOfTheirOwnSite()
    {
        await fleet.ResetAsync();
        foreach (var (site, (appliances, client, _)) in FleetLaunch.Sites)
        {
            var play = await Bed.PlayAsync(client, fleet.Title);
            var pathways = FleetBed.PathwayIds(play);
            Assert.Equal(site, play.GetProperty("site").GetString());
            Assert.Equal(appliances.Order(), pathways.Take(2).Order());
            Assert.Equal("origin", pathways[^1]);

            // A real player in that site's client namespace fetches its segments from that site.
            await using var player = FleetPlayer.Start(Bed, client, MasterUrl, playSeconds: 3, afterSeconds: 2, waitForGo: false);
            var result = await player.ReadAsync("RESULT", TimeSpan.FromSeconds(120));
            Assert.True(result.GetProperty("ok").GetBoolean(), player.Transcript);
            var playing = await player.ReadAsync("PLAYING", TimeSpan.FromSeconds(1));
            var hosts = Hosts(result).Append(playing.GetProperty("host").GetString()!).Distinct().ToList();
            Assert.All(hosts, h => Assert.Contains(Appliance(h), appliances));
        }
    }

    [FleetFact]
    public async Task Player_KeepsPlayingFromTheSitesOtherAppliance_WhenItsApplianceIsKilled()
    {
        await fleet.ResetAsync();
        var (appliances, client, _) = FleetLaunch.Sites["site-a"];
        await using var player = FleetPlayer.Start(Bed, client, MasterUrl, playSeconds: 4, afterSeconds: 10, waitForGo: true);
        var playing = await player.ReadAsync("PLAYING", TimeSpan.FromSeconds(120));
        var inUse = Appliance(playing.GetProperty("host").GetString()!);
        Assert.Contains(inUse, appliances);

        // Killed first, then GO: every segment the player fetches after GO is fetched after the kill
        // (GO first let a fetch from the doomed appliance slip in before the kill landed). The stall
        // clock starts at GO, a few milliseconds (SIGKILL and reaping) after the kill.
        await Bed.KillApplianceAsync(inUse);
        await player.GoAsync();
        var result = await player.ReadAsync("RESULT", TimeSpan.FromSeconds(120));

        Assert.True(result.GetProperty("ok").GetBoolean(), $"playback did not continue: {player.Transcript}");
        var other = appliances.Single(a => a != inUse);
        Assert.Equal([Bed.Host(other).Ipv4], Hosts(result));
        var maxStall = result.GetProperty("maxStallMs").GetDouble();
        Assert.True(maxStall <= FleetLaunch.SegmentSeconds * 1000, $"the player stalled {maxStall} ms (> one {FleetLaunch.SegmentSeconds} s segment): {result}");
    }

    [FleetFact]
    public async Task WithASiteDown_PlaysGoToTheOtherSite_AndWithBothDownToTheOrigin()
    {
        await fleet.ResetAsync();
        // Site B's appliances hold the title once a site-B client has played it (they report it in their heartbeats).
        await using (var warm = FleetPlayer.Start(Bed, "cb", MasterUrl, playSeconds: 6, afterSeconds: 0, waitForGo: false))
        {
            Assert.True((await warm.ReadAsync("RESULT", TimeSpan.FromSeconds(120))).GetProperty("ok").GetBoolean(), warm.Transcript);
        }

        var holders = await FleetBed.WaitUntilAsync("site A's client is offered a site-B appliance", TimeSpan.FromSeconds(30), async () =>
        {
            var ids = FleetBed.PathwayIds(await Bed.PlayAsync("ca", fleet.Title));
            return ids.Any(id => id.StartsWith('b')) ? ids : null;
        });
        Assert.Equal(["a1", "a2"], holders.Take(2).Order());

        await Bed.KillApplianceAsync("a1");
        await Bed.KillApplianceAsync("a2");
        var siteDown = await FleetBed.WaitUntilAsync("site A's appliances leave the plays", TimeSpan.FromSeconds(30), async () =>
        {
            var ids = FleetBed.PathwayIds(await Bed.PlayAsync("ca", fleet.Title));
            return ids.Any(id => id.StartsWith('a')) ? null : ids;
        });
        Assert.Equal("origin", siteDown[^1]);
        Assert.NotEmpty(siteDown[..^1]);
        Assert.All(siteDown[..^1], id => Assert.Contains(id, FleetLaunch.Sites["site-b"].Appliances));
        await PlaysFromAsync("ca", [.. siteDown[..^1].Select(id => Bed.Host(id).Ipv4)]);

        await Bed.KillApplianceAsync("b1");
        await Bed.KillApplianceAsync("b2");
        var allDown = await FleetBed.WaitUntilAsync("only the origin is offered", TimeSpan.FromSeconds(30), async () =>
        {
            var ids = FleetBed.PathwayIds(await Bed.PlayAsync("ca", fleet.Title));
            return ids.Count == 1 ? ids : null;
        });
        Assert.Equal(["origin"], allDown);
        await PlaysFromAsync("ca", [Bed.Host("origin").Ipv4]);
    }

    [FleetFact]
    public async Task ApplianceCutOffFromSteering_LeavesThePlays_RefusesNewSessions_AndKeepsServingSegments()
    {
        await fleet.ResetAsync();
        var before = await Bed.PlayAsync("ca", fleet.Title);
        var a1 = before.GetProperty("hls").GetProperty("pathways").EnumerateArray().Single(p => p.GetProperty("applianceId").GetString() == "a1");
        var master = a1.GetProperty("url").GetString()!;
        var segment = await FirstSegmentUrlAsync("ca", master);

        await Bed.PartitionFromSteeringAsync("a1");
        // Steering: a1's heartbeats stop, so after its heartbeat expiry it is no longer offered.
        await Bed.WaitForEligibleAppliancesAsync(3);
        Assert.DoesNotContain("a1", FleetBed.PathwayIds(await Bed.PlayAsync("ca", fleet.Title)));

        // The appliance: after Appliance:Steering:LostAfter without a heartbeat it refuses new
        // sessions (503 for the master playlist), keeps serving segments, and reports Degraded.
        await Task.Delay(FleetLaunch.ApplianceLostAfter + TimeSpan.FromSeconds(1));
        var refused = await Bed.CurlAsync("ca", master);
        Assert.True(refused.Status == 503, $"a1 answered {refused.Status} for a new session while cut off: {refused.Body}");
        Assert.Equal(200, (await Bed.CurlAsync("ca", segment)).Status);
        var health = await Bed.CurlAsync("a1", Bed.Appliances["a1"].ManagementUrl + "/healthz");
        Assert.Equal(200, health.Status);
        Assert.Contains("Degraded", health.Body, StringComparison.Ordinal);

        // Healed: it heartbeats again, is offered again and takes new sessions.
        await Bed.HealAsync("a1");
        await Bed.WaitForEligibleAppliancesAsync(4);
        Assert.Contains("a1", FleetBed.PathwayIds(await Bed.PlayAsync("ca", fleet.Title)));
        // Steering may count the heartbeat a moment before the appliance has read its answer.
        await FleetBed.WaitUntilAsync("a1 takes new sessions again", TimeSpan.FromSeconds(10), async () => (await Bed.CurlAsync("ca", master)).Status == 200 ? "yes" : null);
    }

    private async Task PlaysFromAsync(string client, string[] addresses)
    {
        await using var player = FleetPlayer.Start(Bed, client, MasterUrl, playSeconds: 2, afterSeconds: 3, waitForGo: false);
        var result = await player.ReadAsync("RESULT", TimeSpan.FromSeconds(120));
        Assert.True(result.GetProperty("ok").GetBoolean(), player.Transcript);
        var playing = await player.ReadAsync("PLAYING", TimeSpan.FromSeconds(1));
        var hosts = Hosts(result).Append(playing.GetProperty("host").GetString()!).Distinct().ToList();
        Assert.All(hosts, h => Assert.Contains(h, addresses));
    }

    /// <summary>The first segment of the first variant of a master playlist, fetched from <paramref name="client"/>.</summary>
    private async Task<string> FirstSegmentUrlAsync(string client, string masterUrl)
    {
        var master = await Bed.CurlAsync(client, masterUrl);
        Assert.Equal(200, master.Status);
        var variant = new Uri(new Uri(masterUrl), MediaLines(master.Body).First());
        var media = await Bed.CurlAsync(client, variant.ToString());
        Assert.Equal(200, media.Status);
        return new Uri(variant, MediaLines(media.Body).First()).ToString();
    }

    private static IEnumerable<string> MediaLines(string playlist) =>
        playlist.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#'));

    private static List<string> Hosts(JsonElement result) => [.. result.GetProperty("hostsAfter").EnumerateArray().Select(h => h.GetString()!)];

    private string Appliance(string address) =>
        Bed.Appliances.Keys.SingleOrDefault(id => Bed.Host(id).Ipv4 == address) ?? (address == Bed.Host("origin").Ipv4 ? "origin" : $"unknown host {address}");
}
