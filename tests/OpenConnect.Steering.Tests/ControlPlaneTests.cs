using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Contracts.Steering.V1;
using OpenConnect.Steering.ControlPlane;

namespace OpenConnect.Steering.Tests;

public sealed class ControlPlaneTests
{
    [Fact]
    public async Task SilentAppliance_GetsNoPlays_AfterExpiry_AndComesBackWithItsNextHeartbeat()
    {
        await using var h = await SteeringHarness.StartAsync();
        await h.RegisterAsync("a1", "isp1", "http://127.0.0.1:8401");
        Assert.True((await h.HeartbeatAsync("a1")).Known);
        Assert.Equal(["a1", "origin"], await h.PlayPathwaysAsync());

        h.Time.Advance(TimeSpan.FromSeconds(2.9));
        Assert.Equal(["a1", "origin"], await h.PlayPathwaysAsync());
        h.Time.Advance(TimeSpan.FromSeconds(0.2));
        Assert.Equal(["origin"], await h.PlayPathwaysAsync());

        Assert.True((await h.HeartbeatAsync("a1")).Known);
        Assert.Equal(["a1", "origin"], await h.PlayPathwaysAsync());

        var metrics = await h.Steering.MetricsAsync();
        Assert.Equal(1, metrics.Value("openconnect_steering_appliances", ("state", "eligible")));
        Assert.True(metrics.Value("openconnect_steering_decisions_total") >= 4);
    }

    [Fact]
    public async Task DrainingOrUnhealthyOrFullAppliance_GetsNoPlays()
    {
        await using var h = await SteeringHarness.StartAsync();
        await h.RegisterAsync("a1", "isp1", "http://127.0.0.1:8401", capacity: 1000, maxConnections: 10);
        await h.HeartbeatAsync("a1");
        Assert.Equal(["a1", "origin"], await h.PlayPathwaysAsync());

        await h.HeartbeatAsync("a1", draining: true);
        Assert.Equal(["origin"], await h.PlayPathwaysAsync());
        await h.HeartbeatAsync("a1", healthy: false);
        Assert.Equal(["origin"], await h.PlayPathwaysAsync());
        await h.HeartbeatAsync("a1", bytesOut: 850);
        Assert.Equal(["origin"], await h.PlayPathwaysAsync());
        await h.HeartbeatAsync("a1", connections: 10);
        Assert.Equal(["origin"], await h.PlayPathwaysAsync());
        await h.HeartbeatAsync("a1", bytesOut: 849, connections: 9);
        Assert.Equal(["a1", "origin"], await h.PlayPathwaysAsync());

        var metrics = await h.Steering.MetricsAsync();
        Assert.Equal(1, metrics.Value("openconnect_steering_appliances", ("state", "eligible")));
        await h.HeartbeatAsync("a1", draining: true);
        metrics = await h.Steering.MetricsAsync();
        Assert.Equal(1, metrics.Value("openconnect_steering_appliances", ("state", "draining")));
    }

    [Fact]
    public async Task Inventory_DeltasApplyByVersion_AndABaseMismatchAsksForTheFullSet()
    {
        await using var h = await SteeringHarness.StartAsync(withOrigin: false);
        var registry = h.Steering.Services.GetRequiredService<ApplianceRegistry>();
        await h.RegisterAsync("a1", "isp1", "http://127.0.0.1:8401");

        var reply = await h.HeartbeatAsync("a1", inventory: SteeringHarness.FullInventory(1, "t1", "t2/r0", "t2/r1"));
        Assert.Equal((true, false, 1UL), (reply.Known, reply.WantFullInventory, reply.InventoryVersion));
        Assert.Equal(["a1"], Ids(registry.Holders("t1")));
        Assert.Equal(["a1"], Ids(registry.Holders("t2")));

        // One rendition of t2 goes: the appliance still holds t2. Then t1 goes and t3 arrives.
        reply = await h.HeartbeatAsync("a1", inventory: SteeringHarness.Delta(1, 2, [], ["t2/r0"]));
        Assert.Equal((false, 2UL), (reply.WantFullInventory, reply.InventoryVersion));
        Assert.Equal(["a1"], Ids(registry.Holders("t2")));
        reply = await h.HeartbeatAsync("a1", inventory: SteeringHarness.Delta(2, 3, ["t3"], ["t1"]));
        Assert.Equal(3UL, reply.InventoryVersion);
        Assert.Empty(Ids(registry.Holders("t1")));
        Assert.Equal(["a1"], Ids(registry.Holders("t3")));

        // A delta from a version steering does not hold is refused, nothing applied.
        reply = await h.HeartbeatAsync("a1", inventory: SteeringHarness.Delta(7, 8, ["t9"], []));
        Assert.Equal((true, 3UL), (reply.WantFullInventory, reply.InventoryVersion));
        Assert.Empty(Ids(registry.Holders("t9")));

        // A corrupt payload too.
        var corrupt = new InventoryUpdate { Full = true, Version = 9, ZstdEntries = Google.Protobuf.ByteString.CopyFromUtf8("not zstd") };
        Assert.True((await h.HeartbeatAsync("a1", inventory: corrupt)).WantFullInventory);

        reply = await h.HeartbeatAsync("a1", inventory: SteeringHarness.FullInventory(10, "t9"));
        Assert.Equal((false, 10UL), (reply.WantFullInventory, reply.InventoryVersion));
        Assert.Equal(["t9"], registry.Find("a1")!.Status.Titles.Order());
        Assert.Empty(Ids(registry.Holders("t2")));
    }

    [Fact]
    public async Task UnknownOrRestartedInstance_IsToldToRegister_AndBadIdentitiesAreRefused()
    {
        await using var h = await SteeringHarness.StartAsync(withOrigin: false);
        Assert.False((await h.HeartbeatAsync("ghost")).Known);

        await h.RegisterAsync("a1", "isp1", "http://127.0.0.1:8401", instance: "first");
        await h.HeartbeatAsync("a1", instance: "first", inventory: SteeringHarness.FullInventory(1, "t1"));
        await h.RegisterAsync("a1", "isp1", "http://127.0.0.1:8401", instance: "second");
        Assert.False((await h.HeartbeatAsync("a1", instance: "first")).Known);
        var reply = await h.HeartbeatAsync("a1", instance: "second");
        Assert.Equal((true, 0UL), (reply.Known, reply.InventoryVersion));
        Assert.Empty(h.Steering.Services.GetRequiredService<ApplianceRegistry>().Find("a1")!.Status.Titles);

        var bad = await Assert.ThrowsAsync<RpcException>(() => h.RegisterAsync("origin", "isp1", "http://127.0.0.1:8401"));
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        bad = await Assert.ThrowsAsync<RpcException>(() => h.RegisterAsync("a2", "isp1", "not a url"));
        Assert.Contains("public_url", bad.Status.Detail, StringComparison.Ordinal);
        bad = await Assert.ThrowsAsync<RpcException>(() => h.RegisterAsync("a2", "isp1", "http://127.0.0.1:8402", capacity: 0));
        Assert.Contains("capacity", bad.Status.Detail, StringComparison.Ordinal);
        bad = await Assert.ThrowsAsync<RpcException>(() => h.RegisterAsync("a2", "isp1", "http://127.0.0.1:8402", parentUrl: "http://127.0.0.1:8443"));
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        Assert.Contains("parent_url", bad.Status.Detail, StringComparison.Ordinal);

        // A parent listener URL travels to the fill controller's roster.
        await h.RegisterAsync("a3", "isp1", "http://127.0.0.1:8403", parentUrl: "https://127.0.0.1:8443/");
        Assert.Equal("https://127.0.0.1:8443", h.Steering.Services.GetRequiredService<ApplianceRegistry>().Roster.Single(e => e.View.Id == "a3").ParentUrl);
        Assert.Equal("", h.Steering.Services.GetRequiredService<ApplianceRegistry>().Roster.Single(e => e.View.Id == "a1").ParentUrl);
    }

    [Fact]
    public async Task ControlPlane_IsOnlyOnTheControlPort()
    {
        await using var h = await SteeringHarness.StartAsync(withOrigin: false);
        var control = h.Steering.Services.GetRequiredService<ControlEndpoint>().Address;
        Assert.NotEqual(h.Steering.BaseAddress.Port, control.Port);
        // The player port does not route the gRPC service (HTTP/1.1 answers 404).
        var response = await h.Http.PostAsync(ControlEndpoint.ServicePath + "/Register", new ByteArrayContent([]));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
        // Health is on the management listener, not on the player port.
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await h.Http.GetAsync("/healthz")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await h.Steering.GetManagementAsync("/healthz")).StatusCode);
    }

    private static string[] Ids(ReadOnlySpan<Selection.ApplianceView> views)
    {
        var ids = new List<string>();
        foreach (var v in views)
        {
            ids.Add(v.Id);
        }

        return [.. ids];
    }
}
