using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Appliance.Caching;
using OpenConnect.Appliance.Control;
using OpenConnect.Appliance.Tests.Serving;
using OpenConnect.Contracts.Security;
using OpenConnect.Contracts.Steering.V1;

namespace OpenConnect.Appliance.Tests.Control;

/// <summary>An appliance with several steering replicas: one session each, independent, their replies merged.</summary>
public sealed class SteeringReplicaTests
{
    private static string[] Settings(Uri first, params string[] more) =>
    [
        $"--Appliance:Steering:Url={first}",
        "--Appliance:Steering:HeartbeatInterval=00:00:00.1",
        "--Appliance:Steering:CallTimeout=00:00:01",
        "--Appliance:Id=oca-7",
        "--Appliance:Site=isp-a",
        "--Appliance:CapacityBytesPerSecond=1000000000",
        .. RecordingControlPlane.FleetSettings("oca-7", "isp-a"),
        .. more,
    ];

    [Fact]
    public async Task RegistersAndHeartbeats_ToEveryReplica_WithOneInstanceId_AndADeadOneDoesNotSlowTheOthers()
    {
        await using var a = await RecordingControlPlane.StartAsync();
        await using var b = await RecordingControlPlane.StartAsync();
        var dead = new Uri($"https://127.0.0.1:{RecordingControlPlane.FreePort()}");
        await using var harness = await ApplianceHarness.StartAsync(Settings(a.Url, $"--Appliance:Steering:Urls:0={dead}", $"--Appliance:Steering:Urls:1={b.Url}"));

        // Heartbeats every 100 ms to each live replica while the dead one fails every call.
        await Until(() => a.Heartbeats.Count >= 10 && b.Heartbeats.Count >= 10, "ten heartbeats to each live replica");
        var instance = Assert.Single(a.Registrations).InstanceId;
        Assert.Equal(instance, Assert.Single(b.Registrations).InstanceId);
        Assert.Equal("oca-7", Assert.Single(b.Registrations).Identity.ApplianceId);

        // Each replica got the full inventory and its own deltas.
        Assert.Contains(a.Heartbeats, h => h.Inventory is { Full: true });
        Assert.Contains(b.Heartbeats, h => h.Inventory is { Full: true });

        var client = harness.Appliance.Services.GetRequiredService<ControlPlaneClient>();
        Assert.Equal([a.Url, dead, b.Url], client.Sessions.Select(s => s.Endpoint));
        await Until(() => !client.Sessions[1].Reachable, "the dead replica marked unreachable");
        Assert.True(client.Sessions[0].Reachable);
        Assert.True(client.Sessions[2].Reachable);

        // The appliance is not lost while one replica answers; /healthz names each replica's standing.
        using var management = harness.Appliance.CreateManagementClient();
        var health = await management.GetStringAsync("/healthz");
        Assert.DoesNotContain("Degraded", health);
        Assert.Contains($"\"{dead}\":\"unreachable\"", health);
        Assert.Contains($"\"{b.Url}\":\"reachable\"", health);
        var metrics = await management.GetStringAsync("/metrics");
        Assert.Contains($"openconnect_appliance_steering_session_up{{steering=\"{dead}\"}} 0", metrics);
        Assert.Contains($"openconnect_appliance_steering_session_up{{steering=\"{a.Url}\"}} 1", metrics);
    }

    [Fact]
    public async Task ReplicasTakedownLists_AreMerged_ATitleIsLiftedOnlyWhenNoReplicaListsIt()
    {
        await using var a = await RecordingControlPlane.StartAsync();
        await using var b = await RecordingControlPlane.StartAsync();
        a.Takedowns = List(1, "t1");
        b.Takedowns = List(4, "t2");
        await using var harness = await ApplianceHarness.StartAsync(Settings(a.Url, $"--Appliance:Steering:Urls:0={b.Url}"));
        var cache = harness.Appliance.Services.GetRequiredService<SegmentCache>();

        await Until(() => cache.Takedowns.HoldsTitle("t1") && cache.Takedowns.HoldsTitle("t2"), "both replicas' takedowns in force");
        // A replica's generation is its own: each heartbeat names the one that replica sent, so neither resends its list.
        var seen = (a.Heartbeats.Count, b.Heartbeats.Count);
        await Until(() => a.Heartbeats.Count > seen.Item1 + 3 && b.Heartbeats.Count > seen.Item2 + 3, "more heartbeats");
        Assert.Equal(1UL, a.Heartbeats.Last().TakedownGeneration);
        Assert.Equal(4UL, b.Heartbeats.Last().TakedownGeneration);
        Assert.Equal(2, cache.Takedowns.Count);

        // Replica A lifts t1 while B still lists it: it stays down until B lifts it too.
        b.Takedowns = List(5, "t1", "t2");
        a.Takedowns = List(2);
        await Until(() => b.Heartbeats.Last().TakedownGeneration == 5 && a.Heartbeats.Last().TakedownGeneration == 2, "both new lists received");
        Assert.True(cache.Takedowns.HoldsTitle("t1"));
        b.Takedowns = List(6, "t2");
        await Until(() => !cache.Takedowns.HoldsTitle("t1"), "t1 lifted by every replica");
        Assert.True(cache.Takedowns.HoldsTitle("t2"));
    }

    [Fact]
    public async Task AV2Token_VerifiesWithTheKeyEveryReplicaSends()
    {
        // Replicas share steering's signing key, so each sends this appliance the same MAC key.
        var key = new PlaybackMacKey(System.Security.Cryptography.RandomNumberGenerator.GetBytes(PlaybackMacKey.Length));
        await using var a = await RecordingControlPlane.StartAsync();
        await using var b = await RecordingControlPlane.StartAsync();
        a.PlaybackKey = key;
        b.PlaybackKey = key;
        await using var harness = await ApplianceHarness.StartAsync(Settings(a.Url, $"--Appliance:Steering:Urls:0={b.Url}"));
        await Until(() => a.Heartbeats.Count >= 3 && b.Heartbeats.Count >= 3, "heartbeats to both replicas");

        var access = harness.Appliance.Services.GetRequiredService<global::OpenConnect.Appliance.Serving.AccessGate>().Access;
        Assert.Single(access.MacKeys.Keys);
        Assert.Equal(key.Tag, access.MacKeys.Keys[0].Tag);
    }

    /// <summary>Lists as comma-separated titles; null: replica B has sent none yet.</summary>
    [Theory]
    [InlineData("t1", "t2", false, "t1,t2", 2UL)]
    [InlineData("t1", "", false, "t1", 2UL)]
    [InlineData("t1", null, false, "t1,t9", 1UL)]
    [InlineData("t1", null, true, "t1", 1UL)]
    public void Merge_IsTheUnion_AndKeepsWhatIsInForce_UntilEveryReplicaHasSentItsList(string fromA, string? fromB, bool forgetB, string expected, ulong generation)
    {
        var merge = new TakedownMerge();
        Uri a = new("https://10.0.0.1:8280/"), b = new("https://10.0.0.2:8280/");
        merge.Expect(a);
        merge.Expect(b);
        var inForce = new Dictionary<string, string> { ["t9"] = "deleted" };
        if (fromB is not null)
        {
            merge.Offer(b, 1, Titles(fromB), inForce);
        }

        if (forgetB)
        {
            merge.Forget(b);
        }

        var (merged, titles) = merge.Offer(a, 1, Titles(fromA), inForce);
        Assert.Equal(expected, string.Join(',', titles.Keys.Order(StringComparer.Ordinal)));
        Assert.Equal(generation, merged);
    }

    private static Dictionary<string, string> Titles(string list) =>
        list.Split(',', StringSplitOptions.RemoveEmptyEntries).ToDictionary(t => t, _ => "deleted");

    private static TakedownList List(ulong generation, params string[] titles)
    {
        var list = new TakedownList { Generation = generation };
        list.Takedowns.AddRange(titles.Select(t => new Takedown { TitleId = t, Reason = "deleted" }));
        return list;
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }
}
