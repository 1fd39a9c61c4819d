using System.Diagnostics;
using System.Text.Json;
using OpenConnect.Testing;
using OpenConnect.Testing.Fleet;

namespace OpenConnect.Fleet.Tests;

/// <summary>
/// Two steering instances on their own hosts of the bed (<c>steering</c> and <c>steering-2</c>), no
/// shared store: every appliance heartbeats to both. Killing one with SIGKILL during playback stops
/// no player and no new start; restarted, it rebuilds the same roster from heartbeats within one
/// heartbeat expiry. Its own bed (in the fleet collection, so it does not run beside the shared one).
/// </summary>
[Collection(FleetCollection.Name)]
public sealed class FleetReplicaTests
{
    /// <summary>Steering's <c>HeartbeatExpiry</c> (its default, which the bed keeps).</summary>
    private static readonly TimeSpan HeartbeatExpiry = TimeSpan.FromSeconds(3);

    [FleetFact]
    public async Task KillingOneOfTwoReplicas_DuringPlayback_StopsNoPlayerAndNoNewStart_AndARestartedOneCatchesUpFromHeartbeats()
    {
        var source = await SampleMedia.GetAsync(new SampleSpec("testsrc2-360p-40s", 640, 360, 40, "mp4"));
        await using var bed = await FleetBed.StartAsync(steeringReplicas: 2);
        var title = await bed.PublishAsync(source);
        var second = bed.SteeringInstance("steering-2");
        await RostersEqualAsync(bed, TimeSpan.FromSeconds(30));

        // A session started on steering-2: its playlist, tokens and Content Steering URI come from it.
        var master = $"{second.BaseUrl}/play/{title}/master.m3u8";
        await using (var player = FleetPlayer.Start(bed, "ca", master, playSeconds: 4, afterSeconds: 8, waitForGo: true))
        {
            await player.ReadAsync("PLAYING", TimeSpan.FromSeconds(120));
            await second.KillAsync();
            await player.GoAsync();

            // While it is down, new starts go through the other replica: /play, and a real player.
            var (status, body) = await bed.CurlAsync("ca", $"{bed.SteeringUrl}/play/{title}");
            Assert.True(status == 200, $"/play on the surviving replica: {status} {body}");
            using (var play = JsonDocument.Parse(body))
            {
                var pathways = FleetBed.PathwayIds(play.RootElement);
                Assert.Equal(["a1", "a2"], pathways.Take(2).Order(StringComparer.Ordinal));
                Assert.Equal("origin", pathways[^1]);
            }

            await using (var fresh = FleetPlayer.Start(bed, "cb", $"{bed.SteeringUrl}/play/{title}/master.m3u8", playSeconds: 3, afterSeconds: 0, waitForGo: false))
            {
                var started = await fresh.ReadAsync("RESULT", TimeSpan.FromSeconds(120));
                Assert.True(started.GetProperty("ok").GetBoolean(), $"a new start failed with one replica down: {fresh.Transcript}");
            }

            // The session whose steering instance died keeps playing from its appliances.
            var result = await player.ReadAsync("RESULT", TimeSpan.FromSeconds(120));
            Assert.True(result.GetProperty("ok").GetBoolean(), $"playback did not continue after its steering replica was killed: {player.Transcript}");
            var maxStall = result.GetProperty("maxStallMs").GetDouble();
            Assert.True(maxStall <= FleetLaunch.SegmentSeconds * 1000, $"the player stalled {maxStall} ms (> one {FleetLaunch.SegmentSeconds} s segment): {result}");
        }

        // Restarted with an empty registry, it hears from every appliance within one heartbeat expiry.
        await bed.RestartSteeringReplicaAsync("steering-2");
        var clock = Stopwatch.StartNew();
        await RostersEqualAsync(bed, HeartbeatExpiry);
        var caughtUp = clock.Elapsed;
        Assert.True(caughtUp <= HeartbeatExpiry, $"the restarted replica's roster matched after {caughtUp.TotalSeconds:F1} s");
        await bed.WaitForEligibleAppliancesAsync(bed.Appliances.Count, "steering-2");
    }

    /// <summary>Waits until both instances list the same appliances, with the same registration, health and titles held.</summary>
    private static async Task RostersEqualAsync(FleetBed bed, TimeSpan timeout)
    {
        IReadOnlyList<string> first = [], second = [];
        try
        {
            await FleetBed.WaitUntilAsync("both steering replicas hold the same roster", timeout, async () =>
            {
                first = await bed.RosterAsync("steering");
                second = await bed.RosterAsync("steering-2");
                return first.Count == bed.Appliances.Count && first.SequenceEqual(second) ? "yes" : null;
            });
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}\nsteering:   {string.Join(" | ", first)}\nsteering-2: {string.Join(" | ", second)}", ex);
        }
    }
}
