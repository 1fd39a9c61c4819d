using OpenConnect.Contracts.Steering.V1;
using OpenConnect.Steering.ControlPlane;
using OpenConnect.Steering.Selection;

namespace OpenConnect.Steering.Tests;

/// <summary>The registry's per-site members (what ranking reads) follow registration, every status change and removal.</summary>
public sealed class SiteMemberTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly SelectionPolicy Policy = new(TimeSpan.FromSeconds(3), 0.85, 3);

    [Fact]
    public void Members_FollowHeartbeats_DirectStatusChanges_ReRegistrationAndRemoval()
    {
        var registry = new ApplianceRegistry();
        Register(registry, "a1", "A");
        Register(registry, "a2", "A");
        Register(registry, "b1", "B");
        Assert.Equal(["a1", "a2"], Ids(registry, "A"));
        Assert.Equal(["b1"], Ids(registry, "B"));
        Assert.Empty(Ids(registry, "C"));

        registry.Heartbeat(Beat("a1", bytesOut: 700_000_000, connections: 7, draining: true), Now + TimeSpan.FromSeconds(1));
        var a1 = Member(registry, "A", "a1");
        Assert.Equal((700_000_000L, 7, false, Now + TimeSpan.FromSeconds(1)), (a1.BytesPerSecondOut, a1.Connections, a1.Available, a1.LastHeartbeat));
        Assert.False(Policy.IsEligible(a1, Now + TimeSpan.FromSeconds(1)));
        Assert.True(Policy.IsEligible(Member(registry, "A", "a2"), Now + TimeSpan.FromSeconds(1)));

        registry.Heartbeat(Beat("a1", bytesOut: 100, connections: 1, draining: false, inventory: SteeringHarness.FullInventory(1, "t1")), Now + TimeSpan.FromSeconds(2));
        registry.Holders("t1", out var t1);
        a1 = Member(registry, "A", "a1");
        Assert.True(a1.Available && a1.Holds("t1", t1) && !a1.Holds("t2", t1 + 1));
        Assert.True(Policy.IsEligible(a1, Now + TimeSpan.FromSeconds(2)));

        // Anyone setting a view's status (tools, the bench) keeps the members in step too.
        var view = registry.Find("a2")!;
        view.Status = view.Status with { BytesPerSecondOut = 42 };
        Assert.Equal(42, Member(registry, "A", "a2").BytesPerSecondOut);

        // A re-registered appliance is one member, at its fresh status; its old view no longer writes.
        Register(registry, "a1", "A");
        Assert.Equal(["a1", "a2"], Ids(registry, "A"));
        Assert.Equal(0, Member(registry, "A", "a1").BytesPerSecondOut);
        a1 = Member(registry, "A", "a1");
        Assert.NotSame(view, a1.View);

        Assert.True(registry.Remove("a2"));
        view.Status = view.Status with { BytesPerSecondOut = 7 };
        Assert.Equal(["a1"], Ids(registry, "A"));
        Assert.True(registry.Remove("b1"));
        Assert.Empty(Ids(registry, "B"));
    }

    private static string[] Ids(ApplianceRegistry registry, string site) =>
        [.. registry.Members(site).ToArray().Select(m => m.View.Id).Order()];

    private static SiteMember Member(ApplianceRegistry registry, string site, string id) =>
        registry.Members(site).ToArray().Single(m => m.View.Id == id);

    private static void Register(ApplianceRegistry registry, string id, string site) =>
        registry.Register(new ApplianceIdentity { ApplianceId = id, Site = site, PublicUrl = $"http://{id}.example:8400", CapacityBytesPerSecond = 1_000_000_000, MaxConnections = 100 }, "i", Now);

    private static HeartbeatRequest Beat(string id, long bytesOut, int connections, bool draining, InventoryUpdate? inventory = null)
    {
        var request = new HeartbeatRequest
        {
            ApplianceId = id,
            InstanceId = "i",
            Load = new ApplianceLoad { BytesPerSecondOut = bytesOut, Connections = connections },
            Health = new ApplianceHealth { CacheHealthy = true, Draining = draining },
        };
        if (inventory is not null)
        {
            request.Inventory = inventory;
        }

        return request;
    }
}
