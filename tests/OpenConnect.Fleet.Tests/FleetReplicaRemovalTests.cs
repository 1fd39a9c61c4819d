using System.Diagnostics;
using System.Text.Json;
using OpenConnect.Testing;
using OpenConnect.Testing.Fleet;

namespace OpenConnect.Fleet.Tests;

/// <summary>
/// An operator's removal made on one steering replica (<c>DELETE /fleet/appliances/a1</c> on
/// <c>steering</c>, as <see cref="FleetBed.RemoveApplianceAsync"/> does) reaches the other
/// (<c>steering-2</c>, separate process on its own host, sharing the fleet directory as the launcher
/// lays it out): it re-reads the enrollment records when they change, refuses a1's next heartbeat and
/// drops a1 at once, without a restart and without being called.
/// </summary>
[Collection(FleetCollection.Name)]
public sealed class FleetReplicaRemovalTests
{
    [FleetFact]
    public async Task ARemovalOnOneReplica_StopsTheOtherSteeringToTheAppliance_WithinAHeartbeatExpiry()
    {
        var source = await SampleMedia.GetAsync(new SampleSpec("testsrc2-360p-40s", 640, 360, 40, "mp4"));
        await using var bed = await FleetBed.StartAsync(steeringReplicas: 2);
        var title = await bed.PublishAsync(source);
        var second = bed.SteeringInstance("steering-2");
        Assert.Contains("a1", await PathwaysAsync(bed, second.BaseUrl, title));

        await bed.RemoveApplianceAsync("a1");
        var clock = Stopwatch.StartNew();
        await FleetBed.WaitUntilAsync("steering-2 no longer steers to a1", FleetLaunch.SteeringHeartbeatExpiry, async () =>
            (await PathwaysAsync(bed, second.BaseUrl, title)).Contains("a1") ? null : "gone");
        var converged = clock.Elapsed;
        Assert.True(converged <= FleetLaunch.SteeringHeartbeatExpiry, $"steering-2 dropped a1 after {converged.TotalSeconds:F1} s");

        // Dropped from its registry, not only from the answer: the roster of either lacks it, a2 stays.
        Assert.DoesNotContain(await bed.RosterAsync("steering-2"), r => r.StartsWith("a1 ", StringComparison.Ordinal));
        Assert.Contains(await bed.RosterAsync("steering-2"), r => r.StartsWith("a2 ", StringComparison.Ordinal));
        Assert.Equal(["a2", "origin"], await PathwaysAsync(bed, second.BaseUrl, title));

        // A second removal sent to steering-2 (as the CLI does with both replicas) finds it removed already.
        var (status, body) = await bed.OperatorOnAsync("steering-2", "DELETE", "/fleet/appliances/a1");
        Assert.True(status == 200, $"{status} {body}");
        using var answer = JsonDocument.Parse(body);
        Assert.True(answer.RootElement.GetProperty("alreadyRemoved").GetBoolean());
    }

    private static async Task<List<string>> PathwaysAsync(FleetBed bed, string steering, string title)
    {
        var (status, body) = await bed.CurlAsync("ca", $"{steering}/play/{title}");
        Assert.True(status == 200, $"/play on {steering}: {status} {body}");
        using var play = JsonDocument.Parse(body);
        return FleetBed.PathwayIds(play.RootElement);
    }
}
