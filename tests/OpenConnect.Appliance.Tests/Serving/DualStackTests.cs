using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Appliance.Control;
using OpenConnect.Appliance.Tests.Control;
using OpenConnect.Contracts.Security;

namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>
/// An appliance listening on 127.0.0.1 and [::1]: it registers a URL per family, and checks a
/// player's token the same over either family (bound to the issuing prefix, open to the other family).
/// </summary>
public class DualStackTests : TransportTests
{
    private static readonly Ed25519SigningKey Steering = Ed25519SigningKey.Generate();

    [Theory]
    // Both settings given: used as they are.
    [InlineData("https://oca.isp.example", "https://oca.v6.isp.example/", "", "https://oca.isp.example", "https://oca.v6.isp.example")]
    // One URL given: it serves both families.
    [InlineData("https://oca.isp.example/", "", "http://127.0.0.1:5000;http://[::1]:5000;http://127.0.0.1:8480", "https://oca.isp.example", "")]
    // Nothing given: the bound data addresses per family, the control endpoint (bound last) left out.
    [InlineData("", "", "http://127.0.0.1:5000;http://[::1]:5001;http://[::1]:8480", "http://127.0.0.1:5000", "http://[::1]:5001")]
    [InlineData("", "", "http://[::1]:5001;http://127.0.0.1:5000;http://127.0.0.1:8480", "http://127.0.0.1:5000", "http://[::1]:5001")]
    [InlineData("", "", "http://127.0.0.1:5000;http://[::1]:8480", "http://127.0.0.1:5000", "")]
    [InlineData("", "", "http://[::1]:5001;http://127.0.0.1:8480", "http://[::1]:5001", "")]
    [InlineData("", "", "http://[::]:5001;http://127.0.0.1:8480", "http://[::]:5001", "")]
    // Only the IPv6 URL given: the IPv4 one comes from the data addresses.
    [InlineData("", "http://[2001:2::10]:8400", "http://198.18.0.10:8400;http://127.0.0.1:8480", "http://198.18.0.10:8400", "http://[2001:2::10]:8400")]
    public void Choose_TakesTheSettings_ElseTheBoundDataAddressesPerFamily(string url, string ipv6, string bound, string expectedUrl, string expectedIPv6)
    {
        var (chosen, chosenIPv6) = PublicUrls.Choose(url, ipv6, bound.Length == 0 ? null : bound.Split(';'));
        Assert.Equal(expectedUrl, chosen);
        Assert.Equal(expectedIPv6, chosenIPv6);
    }

    [Theory]
    [InlineData("--Appliance:PublicUrlIPv6=http://198.18.0.10:8400", "names an IPv4 address")]
    [InlineData("--Appliance:PublicUrlIPv6=[2001:2::10]:8400", "absolute http:// or https://")]
    public async Task ABadIPv6PublicUrl_StopsTheApplianceAtStart_WithTheKeyName(string setting, string problem)
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => StartAsync(setting));
        Assert.Contains("Appliance:PublicUrlIPv6", ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BoundToBothFamilies_RegistersAnIPv4AndAnIPv6Url()
    {
        await using var steering = await RecordingControlPlane.StartAsync();
        await using var harness = await StartAsync(
        [
            "--urls", "http://127.0.0.1:0;http://[::1]:0",
            $"--Appliance:Steering:Url={steering.Url}",
            "--Appliance:Steering:HeartbeatInterval=00:00:00.1",
            "--Appliance:Id=oca-6",
            "--Appliance:Site=isp-a",
            .. RecordingControlPlane.FleetSettings("oca-6", "isp-a"),
        ]);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (steering.Registrations.IsEmpty)
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the registration");
            await Task.Delay(50);
        }

        var identity = Assert.Single(steering.Registrations).Identity;
        var (v4, v6) = Addresses(harness);
        Assert.Equal(v4.ToString().TrimEnd('/'), identity.PublicUrl);
        Assert.Equal(v6.ToString().TrimEnd('/'), identity.PublicUrlIpv6);
        Assert.StartsWith("http://[::1]:", identity.PublicUrlIpv6, StringComparison.Ordinal);
    }

    /// <summary>
    /// Tokens over real sockets of both families: steering's dual-stack form admits the other family;
    /// a token in the single-prefix form issued before (still accepted) refuses it, and a foreign
    /// network of the bound family is refused either way.
    /// </summary>
    [Theory]
    [InlineData("127.0.0.0/24,::/0", true, true)]
    [InlineData("::/48,0.0.0.0/0", true, true)]
    [InlineData("127.0.0.0/24", true, false)]
    [InlineData("::/48", false, true)]
    [InlineData("127.0.1.0/24,::/0", false, true)]
    [InlineData("2001:2::/48,0.0.0.0/0", true, false)]
    [InlineData(null, true, true)]
    public async Task ATokenIsCheckedTheSameOverEitherFamily(string? binding, bool overIPv4, bool overIPv6)
    {
        await using var harness = await StartAsync(
            "--urls", "http://127.0.0.1:0;http://[::1]:0",
            $"--Appliance:PlaybackKeys:0={Steering.PublicKey}",
            // No unsigned access from loopback here: every request below needs its token.
            "--Appliance:UnsignedNetworks:0=198.18.0.0/15");
        var segment = ApplianceHarness.RandomBytes(200_000, 14);
        harness.Parent.Put("/v/t1/720p/seg-00001.m4s", segment);
        var token = UrlToken.Sign(Steering, DateTimeOffset.UtcNow.AddMinutes(5), UrlToken.TitlePrefix("t1"), binding);
        var path = UrlToken.SignedPath(token, "/v/t1/720p/seg-00001.m4s");
        var (v4, v6) = Addresses(harness);

        foreach (var (baseAddress, allowed) in new[] { (v4, overIPv4), (v6, overIPv6) })
        {
            using var client = new HttpClient { BaseAddress = baseAddress };
            var response = await client.GetAsync(path);
            if (allowed)
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal(ApplianceHarness.Sha(segment), ApplianceHarness.Sha(await response.Content.ReadAsByteArrayAsync()));
            }
            else
            {
                Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
                Assert.Contains(PlaybackAccess.Reason(TokenCheck.WrongClient), await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            // Without the token neither family gets in (loopback is not an unsigned network here).
            Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/v/t1/720p/seg-00001.m4s")).StatusCode);
        }
    }

    private static (Uri V4, Uri V6) Addresses(ApplianceHarness harness)
    {
        var addresses = harness.Appliance.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        return (new Uri(addresses.First(a => a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal))),
            new Uri(addresses.First(a => a.StartsWith("http://[::1]:", StringComparison.Ordinal))));
    }
}
