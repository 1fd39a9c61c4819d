using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Appliance.Control;
using OpenConnect.Appliance.Tests.Serving;
using OpenConnect.Hosting.Discovery;
using OpenConnect.Testing;

namespace OpenConnect.Appliance.Tests.Control;

/// <summary>Finding steering through DNS SRV records served by a real DNS server on loopback.</summary>
public sealed class SrvDiscoveryTests
{
    private const string Name = "_steering._tcp.openconnect.test";

    [Fact]
    public async Task Locator_PrefersTheLowestPriority_ResolvesTheTarget_AndFallsBack()
    {
        await using var dns = await Dnsmasq.StartAsync(
            Dnsmasq.Srv(Name, "steering-a.openconnect.test", 8281, priority: 10),
            Dnsmasq.Srv(Name, "steering-b.openconnect.test", 8282, priority: 5),
            Dnsmasq.Host("steering-a.openconnect.test", "127.0.0.2"),
            Dnsmasq.Host("steering-b.openconnect.test", "127.0.0.3"));

        var (url, fromSrv) = await new SrvLocator(Name, dns.Server, "http://127.0.0.1:8280", TimeSpan.FromSeconds(2)).ResolveAsync(CancellationToken.None);
        Assert.True(fromSrv);
        Assert.Equal(new Uri("http://127.0.0.3:8282"), url);

        var (missing, missingFromSrv) = await new SrvLocator("_nothing._tcp.openconnect.test", dns.Server, "http://127.0.0.1:8280", TimeSpan.FromSeconds(2)).ResolveAsync(CancellationToken.None);
        Assert.False(missingFromSrv);
        Assert.Equal(new Uri("http://127.0.0.1:8280"), missing);

        // A DNS server that does not answer at all: the static URL, within the timeout.
        var silent = RecordingControlPlane.FreePort();
        var (fallback, fallbackFromSrv) = await new SrvLocator(Name, $"127.0.0.1:{silent}", "http://127.0.0.1:8280", TimeSpan.FromMilliseconds(300)).ResolveAsync(CancellationToken.None);
        Assert.False(fallbackFromSrv);
        Assert.Equal(new Uri("http://127.0.0.1:8280"), fallback);
    }

    [Fact]
    public async Task Appliance_FindsSteeringBySrv_OverADeadStaticUrl()
    {
        await using var steering = await RecordingControlPlane.StartAsync();
        await using var dns = await Dnsmasq.StartAsync(
            Dnsmasq.Srv(Name, "steering.openconnect.test", steering.Port),
            Dnsmasq.Host("steering.openconnect.test", "127.0.0.1"));
        var dead = $"https://127.0.0.1:{RecordingControlPlane.FreePort()}";
        await using var harness = await ApplianceHarness.StartAsync(
        [
            $"--Appliance:Steering:Url={dead}",
            $"--Appliance:Steering:SrvName={Name}",
            $"--Appliance:Steering:DnsServer={dns.Server}",
            "--Appliance:Steering:HeartbeatInterval=00:00:00.1",
            "--Appliance:Id=oca-1",
            "--Appliance:Site=isp-a",
            .. RecordingControlPlane.FleetSettings("oca-1", "isp-a"),
        ]);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (steering.Heartbeats.IsEmpty)
        {
            Assert.True(DateTime.UtcNow < deadline, "the appliance never reached steering through SRV");
            await Task.Delay(50);
        }

        var client = harness.Appliance.Services.GetRequiredService<ControlPlaneClient>();
        // SRV gives host and port; the control plane is always TLS.
        Assert.Equal(new Uri($"https://127.0.0.1:{steering.Port}"), client.Endpoint);
        Assert.Single(steering.Registrations);
    }

    [Fact]
    public async Task Appliance_FindsTheOriginBySrv_AsItsLastParent()
    {
        await using var origin = await TestParent.StartAsync();
        var body = ApplianceHarness.RandomBytes(20_000, 77);
        origin.Put("/v/srv/720p/seg-00001.m4s", body);
        const string originName = "_origin._tcp.openconnect.test";
        await using var dns = await Dnsmasq.StartAsync(
            Dnsmasq.Srv(originName, "origin.openconnect.test", origin.BaseAddress.Port),
            Dnsmasq.Host("origin.openconnect.test", "127.0.0.1"));
        await using var harness = await ApplianceHarness.StartAsync(
            $"--Appliance:Upstream:OriginSrvName={originName}",
            $"--Appliance:Upstream:OriginDnsServer={dns.Server}");

        var fetcher = harness.Appliance.Services.GetRequiredService<OpenConnect.Appliance.Upstream.ParentFetcher>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (fetcher.Parents.Count < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the appliance never found the origin through SRV");
            await Task.Delay(50);
        }

        Assert.Equal(new Uri($"http://127.0.0.1:{origin.BaseAddress.Port}/"), fetcher.Parents[^1]);
        using var client = new HttpClient { BaseAddress = harness.BaseAddress };
        // The harness's own parent does not hold the object (404); the discovered origin does.
        Assert.Equal(body, await client.GetByteArrayAsync("/v/srv/720p/seg-00001.m4s"));
        Assert.Equal(1, origin.RequestsFor("/v/srv/720p/seg-00001.m4s"));
    }
}
