using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Appliance.Control;
using OpenConnect.Appliance.Tests.Serving;
using OpenConnect.Contracts.Discovery;
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
        var dead = $"http://127.0.0.1:{RecordingControlPlane.FreePort()}";
        await using var harness = await ApplianceHarness.StartAsync(
            $"--Appliance:Steering:Url={dead}",
            $"--Appliance:Steering:SrvName={Name}",
            $"--Appliance:Steering:DnsServer={dns.Server}",
            "--Appliance:Steering:HeartbeatInterval=00:00:00.1");

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (steering.Heartbeats.IsEmpty)
        {
            Assert.True(DateTime.UtcNow < deadline, "the appliance never reached steering through SRV");
            await Task.Delay(50);
        }

        var client = harness.Appliance.Services.GetRequiredService<ControlPlaneClient>();
        Assert.Equal(new Uri($"http://127.0.0.1:{steering.Port}"), client.Endpoint);
        Assert.Single(steering.Registrations);
    }
}
