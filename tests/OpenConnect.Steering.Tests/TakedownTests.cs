using System.Net;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Contracts.Steering.V1;
using OpenConnect.Steering.Takedown;
using OpenConnect.Testing;
using ControlPlaneGrpc = OpenConnect.Contracts.Steering.V1.ControlPlane;
using TakedownEntry = OpenConnect.Contracts.Steering.V1.Takedown;

namespace OpenConnect.Steering.Tests;

public sealed class TakedownTests
{
    private static TakedownEntry Entry(string title, string reason = "deleted") => new() { TitleId = title, Reason = reason, AtUnixMs = 1 };

    [Fact]
    public void Registry_CountsAGenerationPerChange_AndKeepsItAcrossARestart()
    {
        using var state = new TempDirectory("openconnect-takedowns");
        var path = state.Combine("takedowns.json");
        var registry = new TakedownRegistry(path);
        Assert.Equal(0ul, registry.Generation);

        Assert.Equal(1ul, registry.Replace([Entry("t1"), Entry("t2", "unpublished")], out var changed));
        Assert.True(changed);
        Assert.Equal(1ul, registry.Replace([Entry("t2", "unpublished"), Entry("t1")], out changed));
        Assert.False(changed);
        Assert.Equal(2ul, registry.Replace([Entry("t1"), Entry("t2")], out changed));
        Assert.True(changed);

        var reloaded = new TakedownRegistry(path);
        Assert.Equal(2ul, reloaded.Generation);
        Assert.True(reloaded.IsTakenDown("t2", out var reason));
        Assert.Equal("deleted", reason);
        Assert.False(reloaded.IsTakenDown("t3", out _));
        Assert.Equal(["t1", "t2"], reloaded.List.Takedowns.Select(t => t.TitleId));
    }

    [Theory]
    [InlineData("../x", "deleted", "not a content title id")]
    [InlineData("t1", "hidden", "must be one of deleted, unpublished")]
    public void Registry_RefusesAReportWithABadEntry_AndKeepsItsList(string title, string reason, string problem)
    {
        using var state = new TempDirectory("openconnect-takedowns");
        var registry = new TakedownRegistry(state.Combine("takedowns.json"));
        registry.Replace([Entry("t9")], out _);

        var ex = Assert.Throws<ArgumentException>(() => registry.Replace([Entry(title, reason)], out _));
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
        Assert.Equal(1ul, registry.Generation);
        Assert.True(registry.IsTakenDown("t9", out _));
    }

    [Fact]
    public void Registry_RefusesADuplicateTitle_AndACorruptFile()
    {
        using var state = new TempDirectory("openconnect-takedowns");
        var path = state.Combine("takedowns.json");
        var registry = new TakedownRegistry(path);
        Assert.Contains("listed twice", Assert.Throws<ArgumentException>(() => registry.Replace([Entry("t1"), Entry("t1")], out _)).Message, StringComparison.Ordinal);

        File.WriteAllText(path, "{ not json");
        var ex = Assert.Throws<InvalidOperationException>(() => new TakedownRegistry(path));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OriginReport_MakesEveryPlayEndpointAnswer410_AndReachesAppliancesInTheirReplies()
    {
        await using var h = await SteeringHarness.StartAsync();
        await h.RegisterAsync("a1", "isp1", "http://127.0.0.1:8401");
        await h.HeartbeatAsync("a1");
        using (var before = await h.Http.GetAsync($"/play/{SteeringHarness.Title}"))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        var origin = new ControlPlaneGrpc.ControlPlaneClient(h.ChannelWith(h.IssueCertificate(FleetIdentity.Origin)));
        var report = new TakedownReport();
        report.Takedowns.Add(Entry(SteeringHarness.Title));
        var ack = await origin.ReportTakedownsAsync(report);
        Assert.Equal(1ul, ack.Generation);

        foreach (var path in new[] { "/play/{0}", "/play/{0}/master.m3u8", "/play/{0}/manifest.mpd", "/steering/hls/{0}", "/steering/dash/{0}" })
        {
            using var response = await h.Http.GetAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, path, SteeringHarness.Title));
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Gone, $"{path}: {(int)response.StatusCode} {body}");
            Assert.Contains("taken down at the origin (deleted)", body, StringComparison.Ordinal);
            Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        }

        // Appliances: the list in every registration, and in a heartbeat until they report its generation.
        var registered = await h.RegisterAsync("a2", "isp1", "http://127.0.0.1:8402");
        Assert.Equal(1ul, registered.Takedowns.Generation);
        Assert.Equal([SteeringHarness.Title], registered.Takedowns.Takedowns.Select(t => t.TitleId));
        var behind = await h.ControlFor("a1").HeartbeatAsync(new HeartbeatRequest { ApplianceId = "a1", InstanceId = "a1-instance", TakedownGeneration = 0 });
        Assert.Equal(1ul, behind.Takedowns.Generation);
        var current = await h.ControlFor("a1").HeartbeatAsync(new HeartbeatRequest { ApplianceId = "a1", InstanceId = "a1-instance", TakedownGeneration = 1 });
        Assert.Null(current.Takedowns);

        // Republished (the origin's next report leaves it out): playable again at once.
        var lifted = await origin.ReportTakedownsAsync(new TakedownReport());
        Assert.Equal(2ul, lifted.Generation);
        using var after = await h.Http.GetAsync($"/play/{SteeringHarness.Title}");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task OnlyTheOriginsCertificate_MayReportTakedowns()
    {
        await using var h = await SteeringHarness.StartAsync(withOrigin: false);
        var report = new TakedownReport();
        report.Takedowns.Add(Entry("t1"));
        foreach (var identity in new[] { FleetIdentity.Appliance("isp1", "a1"), FleetIdentity.FillController, FleetIdentity.Operator("ops") })
        {
            var client = new ControlPlaneGrpc.ControlPlaneClient(h.ChannelWith(h.IssueCertificate(identity)));
            var ex = await Assert.ThrowsAsync<RpcException>(async () => await client.ReportTakedownsAsync(report));
            Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
        }

        var origin = new ControlPlaneGrpc.ControlPlaneClient(h.ChannelWith(h.IssueCertificate(FleetIdentity.Origin)));
        var bad = new TakedownReport();
        bad.Takedowns.Add(Entry("t1", "because"));
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(async () => await origin.ReportTakedownsAsync(bad))).StatusCode);
        Assert.Equal(0ul, h.Steering.Services.GetRequiredService<TakedownRegistry>().Generation);
    }
}

public sealed class TakedownStartupTests
{
    [Fact]
    public async Task ADamagedTakedownList_StopsTheStart_NamingTheFile()
    {
        using var state = new TempDirectory("openconnect-takedown-start");
        var file = state.Combine("steering", TakedownRegistry.FileName);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        await File.WriteAllTextAsync(file, "{ \"Generation\": 1, \"Takedowns\": [ { \"TitleId\": \"../x\", \"Reason\": \"deleted\", \"AtUnixMs\": 0 } ] }");
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => RunningRole.StartAsync(
            SteeringHost.Build,
            $"--Steering:DataDirectory={state.Combine("steering")}",
            "--Steering:ControlUrl=https://127.0.0.1:0",
            "--Steering:Fleet:EnrollUrl=https://127.0.0.1:0"));
        var message = OpenConnect.Hosting.RoleHost.DescribeStartupFailure(failure);
        Assert.Contains(file, message, StringComparison.Ordinal);
        Assert.Contains("not a content title id", message, StringComparison.Ordinal);
    }
}
