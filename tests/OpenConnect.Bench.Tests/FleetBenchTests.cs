using System.Text.Json;
using OpenConnect.Bench.Fleet;
using OpenConnect.Testing.Fleet;

namespace OpenConnect.Bench.Tests;

/// <summary>
/// <c>bench fleet</c> end to end at the smallest scale: the real bed (root), a 20 s title, two
/// players per client host for 40 s under the chaos schedule. Checks that the figures add up, not
/// that the goal is met (that is the bench's answer, and this machine is shared).
/// </summary>
public sealed class FleetBenchTests
{
    [FleetFact]
    public async Task FleetBench_RunsTheSwarmAcrossTheBedUnderChaos_AndItsFiguresAddUp()
    {
        var options = new FleetOptions(Sessions: 2, Seconds: 40, TitleSeconds: 20, Seed: 1, Chaos: true);
        var log = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(20));

        var result = await FleetScenario.RunAsync(options, log, timeout.Token);

        Assert.Equal(FleetLaunch.Sites.Keys.Order(), result.Sites.Select(s => s.Site).Order());
        foreach (var (site, players) in result.Sites)
        {
            Assert.Equal(FleetLaunch.Sites[site].Client, players.Client);
            Assert.Equal(players.Sessions, players.Started + players.FailedStarts + players.CutOff);
            Assert.True(players.Sessions >= options.Sessions, $"{site}: {players.Sessions} sessions for {options.Sessions} players\n{log}");
            Assert.True(players.Started > 0, $"{site}: no session started\n{log}");
            Assert.True(players.PlaySeconds > 0 && players.MediaSeconds >= players.PlaySeconds, $"{site}: played {players.PlaySeconds} s of {players.MediaSeconds} s fetched");
            Assert.Equal(players.FailedStarts + players.Dropped, players.FailureReasons.Values.Sum());
            // Bytes come from the bed's roles only: the site's appliances (or the other site's), the origin, steering.
            var roles = result.BytesByRole(players);
            Assert.All(roles.Keys, r => Assert.True(r is FleetResult.Origin or FleetResult.Steering || FleetLaunch.Sites.Values.Any(s => s.Appliances.Contains(r)), $"bytes from an unknown host {r}"));
            Assert.Equal(players.Bytes, roles.Values.Sum());
            Assert.True(roles.Where(r => FleetLaunch.Sites[site].Appliances.Contains(r.Key)).Sum(r => r.Value) > 0, $"{site}'s players got nothing from their own appliances: {string.Join(", ", roles)}");
        }

        var all = result.All;
        Assert.Equal(result.Sites.Sum(s => s.Players.Sessions), all.Sessions);
        Assert.Equal(result.Sites.Sum(s => s.Players.StallSeconds), all.StallSeconds, 6);
        Assert.InRange(all.RebufferRatio, 0, 1);
        // The appliances pulled the title from the origin (their cache was empty).
        Assert.True(result.OriginToAppliancesBytes > 0, log.ToString());
        Assert.Contains(result.Events, e => e.What.StartsWith("kill -9 ", StringComparison.Ordinal));
        Assert.Equal(result.Schedule.Count, ChaosSchedule.Create(options.Seconds, options.Seed, FleetLaunch.Sites.ToDictionary(s => s.Key, s => s.Value.Appliances)).Count);

        // The JSON line carries the same figures and the goal.
        using var json = JsonDocument.Parse(JsonSerializer.Serialize(FleetReport.Json(result)));
        var root = json.RootElement;
        Assert.Equal("fleet", root.GetProperty("scenario").GetString());
        Assert.Equal(all.Sessions, root.GetProperty("sessions").GetInt32());
        Assert.Equal(all.Started, root.GetProperty("started").GetInt32());
        Assert.Equal(all.FailedStarts, root.GetProperty("failed_starts").GetInt32());
        Assert.Equal(all.FailedStarts == 0 && all.RebufferRatio < FleetResult.RebufferGoal, root.GetProperty("goal_met").GetBoolean());
        Assert.Equal(result.FromAppliances(all) + result.FromOrigin(all) + result.BytesByRole(all).GetValueOrDefault(FleetResult.Steering), all.Bytes);
        Assert.Equal((long)(result.FromOrigin(all) + result.OriginToAppliancesBytes), root.GetProperty("bytes_served_by_origin").GetInt64());
        Assert.Equal(2, root.GetProperty("sites").EnumerateObject().Count());
        Assert.NotEmpty(root.GetProperty("chaos_events").EnumerateArray());
    }
}
