using OpenConnect.Contracts.Placement;
using OpenConnect.Contracts.Steering.V1;
using OpenConnect.Steering.ControlPlane;
using OpenConnect.Steering.Selection;

namespace OpenConnect.Steering.Tests;

/// <summary>The registry's interned title ids and the per-appliance <see cref="TitleIdSet"/> ranking tests holding with.</summary>
public sealed class TitleIdTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(300)]
    [InlineData(5000)]
    public void TitleIdSet_HoldsExactlyItsIds(int count)
    {
        // Every third id, so members and non-members interleave and collide in the table.
        var ids = Enumerable.Range(0, count).Select(i => i * 3).ToArray();
        var set = new TitleIdSet([.. ids, .. ids.Take(5)]);

        Assert.Equal(count, set.Count);
        Assert.All(ids, id => Assert.True(set.Contains(id)));
        Assert.All(Enumerable.Range(0, (count * 3) + 10).Where(i => i % 3 != 0 || i >= count * 3), id => Assert.False(set.Contains(id)));
        Assert.False(set.Contains(-1));
    }

    [Fact]
    public void TitleIdSet_RefusesANegativeId() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new TitleIdSet([1, -2]));

    [Fact]
    public void Registry_TitleIdsFollowTheInventory_AndATitleKeepsItsIdWhenNoOneHoldsItForAWhile()
    {
        var registry = new ApplianceRegistry();
        Register(registry, "a1", "A");
        Register(registry, "a2", "A");
        Heartbeat(registry, "a1", SteeringHarness.FullInventory(1, "t1", "t2/r0"));
        Heartbeat(registry, "a2", SteeringHarness.FullInventory(1, "t2"));

        registry.Holders("t1", out var t1);
        registry.Holders("t2", out var t2);
        registry.Holders("t3", out var unknown);
        Assert.NotEqual(t1, t2);
        Assert.True(t1 >= 0 && t2 >= 0);
        Assert.Equal(-1, unknown);
        AssertIdsMatchTitles(registry, "a1", "a2");

        // t1 leaves the fleet, t3 arrives, then t1 comes back: same id, sets rebuilt.
        Heartbeat(registry, "a1", SteeringHarness.Delta(1, 2, ["t3"], ["t1"]));
        Assert.Equal(0, registry.Holders("t1", out var gone).Length);
        Assert.Equal(-1, gone);
        Assert.False(registry.Find("a1")!.Status.TitleIds!.Value.Contains(t1));
        Heartbeat(registry, "a2", SteeringHarness.Delta(1, 2, ["t1/r1"], []));
        registry.Holders("t1", out var back);
        Assert.Equal(t1, back);
        AssertIdsMatchTitles(registry, "a1", "a2");

        // A heartbeat without an inventory keeps the ids.
        registry.Heartbeat(new HeartbeatRequest { ApplianceId = "a2", InstanceId = "i" }, Now);
        Assert.Equal(2, registry.Find("a2")!.Status.TitleIds!.Value.Count);
        AssertIdsMatchTitles(registry, "a1", "a2");
    }

    /// <summary>Ranking over registry statuses (ids) and over the same statuses without ids (title strings) agree.</summary>
    [Fact]
    public void Rank_WithTitleIds_EqualsRankWithTitleStrings()
    {
        var registry = new ApplianceRegistry();
        var random = new Random(7);
        var titles = Enumerable.Range(0, 40).Select(i => $"t{i}").ToArray();
        for (var i = 0; i < 12; i++)
        {
            var id = $"a{i}";
            Register(registry, id, i < 6 ? "A" : "B");
            Heartbeat(registry, id, SteeringHarness.FullInventory(1, [.. titles.Where(_ => random.Next(3) == 0)]));
        }

        var policy = new SelectionPolicy(TimeSpan.FromSeconds(3), 0.85, 4);
        foreach (var site in new[] { "A", "B", "C" })
        {
            foreach (var title in titles.Append("never-held"))
            {
                var holders = registry.Holders(title, out var titleId);
                var withIds = new ApplianceView?[PathwaySelector.MaxPathways];
                var n = PathwaySelector.Rank(title, Rendezvous.HashTitle(title), titleId, site, registry.Members(site), holders, Now, policy, withIds);
                var plain = registry.All.Select(v => new ApplianceView(v.Id, v.Site, v.PublicUrl, v.CapacityBytesPerSecond, v.MaxConnections, v.Status with { TitleIds = null }));
                Assert.Equal(PathwaySelector.Rank(title, site, plain, Now, policy).Select(v => v.Id), withIds[..n].Select(v => v!.Id));
            }
        }
    }

    private static void AssertIdsMatchTitles(ApplianceRegistry registry, params string[] appliances)
    {
        foreach (var id in appliances)
        {
            var status = registry.Find(id)!.Status;
            foreach (var title in new[] { "t1", "t2", "t3", "t4" })
            {
                registry.Holders(title, out var titleId);
                Assert.Equal(status.Titles.Contains(title), status.TitleIds!.Value.Contains(titleId));
            }
        }
    }

    private static void Register(ApplianceRegistry registry, string id, string site) =>
        registry.Register(new ApplianceIdentity { ApplianceId = id, Site = site, PublicUrl = $"http://{id}.example:8400", CapacityBytesPerSecond = 1_000_000_000, MaxConnections = 100 }, "i", Now);

    private static void Heartbeat(ApplianceRegistry registry, string id, InventoryUpdate inventory) =>
        Assert.False(registry.Heartbeat(new HeartbeatRequest
        {
            ApplianceId = id,
            InstanceId = "i",
            Load = new ApplianceLoad { BytesPerSecondOut = 1000, Connections = 1 },
            Health = new ApplianceHealth { CacheHealthy = true },
            Inventory = inventory,
        }, Now).WantFullInventory);
}
