using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Appliance.Tests.Control;
using OpenConnect.Contracts.Appliance.V1;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Hosting;

namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>
/// The operator's fill entry point: gRPC Prefetch (on the control endpoint, mutual TLS, an operator
/// certificate) brings objects onto the SSD tier, then they are SSD hits.
/// </summary>
public sealed class PrefetchTests
{
    private static readonly FleetIdentity Appliance = FleetIdentity.Appliance("isp-p", "oca-p");

    private static Task<ApplianceHarness> StartAsync(params string[] settings) =>
        ApplianceHarness.StartAsync([$"--Appliance:Id={Appliance.Name}", $"--Appliance:Site={Appliance.Site}", .. TestFleet.ApplianceFleetSettings(Appliance.Name, Appliance.Site), .. settings]);

    private static GrpcChannel OperatorChannel(ApplianceHarness h)
    {
        var certificate = TestFleet.Ca.Issue("openconnect://operator/fill-ops");
        return TestFleet.ControlGrpc(h.Appliance.Services.GetRequiredService<RoleListeners>().ControlAddress, certificate, Appliance);
    }

    [Fact]
    public async Task Prefetch_FillsTheSsdTier_ReportsProgress_AndObjectsAreThenSsdHits()
    {
        await using var h = await StartAsync("--Appliance:Cache:RamBytes=65536");
        var bodies = Enumerable.Range(0, 5).ToDictionary(i => $"/v/fill/720p/seg-{i:D5}.m4s", i => ApplianceHarness.RandomBytes(200_000, 40 + i));
        foreach (var (path, body) in bodies)
        {
            h.Parent.Put(path, body);
        }

        using var channel = OperatorChannel(h);
        var client = new ApplianceFill.ApplianceFillClient(channel);
        var request = new PrefetchRequest { RateBytesPerSecond = 0 };
        request.Paths.AddRange(bodies.Keys);
        request.Paths.Add("/v/fill/720p/missing.m4s");

        var updates = new List<PrefetchProgress>();
        using (var call = client.Prefetch(request))
        {
            await foreach (var update in call.ResponseStream.ReadAllAsync())
            {
                updates.Add(update);
            }
        }

        Assert.True(updates.Count == 7, string.Join("\n", updates));
        var summary = updates[^1];
        Assert.Equal("", summary.Path);
        Assert.Equal(6, summary.ObjectsTotal);
        Assert.Equal(5, summary.ObjectsDone);
        Assert.Equal(1, summary.ObjectsFailed);
        Assert.Equal(1_000_000, summary.BytesFetched);
        Assert.Contains("not found", updates.Single(u => u.Path.EndsWith("missing.m4s", StringComparison.Ordinal)).Error);

        // Served from the SSD tier: no further parent fetches.
        var before = h.Parent.TotalRequests;
        using var http = new HttpClient { BaseAddress = h.BaseAddress };
        foreach (var (path, body) in bodies)
        {
            Assert.Equal(body, await http.GetByteArrayAsync(path));
        }

        Assert.Equal(before, h.Parent.TotalRequests);
        Assert.Equal(5, await h.MetricAsync("openconnect_appliance_requests_total", ("tier", "ssd")));

        // A second prefetch of the same objects fetches nothing.
        var again = new PrefetchRequest();
        again.Paths.AddRange(bodies.Keys);
        using var second = client.Prefetch(again);
        var last = new PrefetchProgress();
        await foreach (var update in second.ResponseStream.ReadAllAsync())
        {
            Assert.True(update.Path == "" || update.AlreadyHeld, $"{update.Path} was fetched again");
            last = update;
        }

        Assert.Equal(0, last.BytesFetched);
        Assert.Equal(5, last.ObjectsDone);
    }

    [Fact]
    public async Task Prefetch_RespectsTheRateCap()
    {
        await using var h = await StartAsync();
        var request = new PrefetchRequest { RateBytesPerSecond = 1_000_000 };
        for (var i = 0; i < 4; i++)
        {
            var path = $"/v/rate/480p/seg-{i:D5}.m4s";
            h.Parent.Put(path, ApplianceHarness.RandomBytes(500_000, 60 + i));
            request.Paths.Add(path);
        }

        using var channel = OperatorChannel(h);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var call = new ApplianceFill.ApplianceFillClient(channel).Prefetch(request);
        await foreach (var _ in call.ResponseStream.ReadAllAsync())
        {
        }

        // 2 MB at 1 MB/s: at least ~2 s (the last object's wait included).
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.9), $"2 MB at 1 MB/s took only {clock.Elapsed}");
    }

    [Fact]
    public async Task Prefetch_RejectsNonContentPaths()
    {
        await using var h = await StartAsync();
        using var channel = OperatorChannel(h);
        var request = new PrefetchRequest();
        request.Paths.Add("/etc/passwd");
        using var call = new ApplianceFill.ApplianceFillClient(channel).Prefetch(request);
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in call.ResponseStream.ReadAllAsync())
            {
            }
        });
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("/etc/passwd", error.Status.Detail);
        Assert.Equal(0, h.Parent.TotalRequests);
    }
}
