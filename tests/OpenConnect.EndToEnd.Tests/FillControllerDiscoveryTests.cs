using Microsoft.Extensions.DependencyInjection;
using OpenConnect.FillController;
using OpenConnect.FillController.Discovery;
using OpenConnect.Testing;

namespace OpenConnect.EndToEnd.Tests;

/// <summary>The fill controller finds steering and the origin through SRV records on a real DNS server.</summary>
public sealed class FillControllerDiscoveryTests
{
    [Fact]
    public async Task SrvRecords_WinOverStaticUrls_AndMissingNamesFallBack()
    {
        await using var dns = await Dnsmasq.StartAsync(
            Dnsmasq.Srv("_origin._tcp.openconnect.test", "origin.openconnect.test", 18100),
            Dnsmasq.Host("origin.openconnect.test", "127.0.0.5"));
        using var state = new TempDirectory("openconnect-fill");
        await using var fill = await RunningRole.StartAsync(
            FillControllerHost.Build,
            [
            $"--FillController:DataDirectory={state.Path}",
            "--FillController:Fill:ControlUrl=https://127.0.0.1:0",
            .. FillControllerFleet.Settings,
            "--FillController:Origin:Url=http://127.0.0.1:8100",
            "--FillController:Origin:SrvName=_origin._tcp.openconnect.test",
            $"--FillController:Origin:DnsServer={dns.Server}",
            "--FillController:Steering:Url=http://127.0.0.1:8200",
            "--FillController:Steering:SrvName=_steering._tcp.openconnect.test",
            $"--FillController:Steering:DnsServer={dns.Server}",
            ]);

        var directory = fill.Services.GetRequiredService<ServiceDirectory>();
        await directory.Resolved.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(new Uri("http://127.0.0.5:18100"), directory.Origin);
        Assert.Equal(new Uri("http://127.0.0.1:8200"), directory.Steering);

        using var client = fill.CreateManagementClient();
        var health = await client.GetStringAsync("/healthz");
        Assert.Contains("127.0.0.5:18100", health);
    }
}
