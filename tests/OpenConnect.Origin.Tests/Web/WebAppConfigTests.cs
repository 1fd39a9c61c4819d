using System.Text.Json;
using OpenConnect.Hosting;
using OpenConnect.Origin.Web;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Web;

/// <summary>What the web app learns from <c>/app/config.json</c>: every steering address, in order.</summary>
public sealed class WebAppConfigTests
{
    [Fact]
    public async Task ConfigJson_ListsEverySteeringAddress_AndKeepsTheFirstAsSteeringUrl()
    {
        using var state = new TempDirectory("openconnect-webconfig");
        await using var origin = await RunningRole.StartAsync(
            OriginHost.Build,
            $"--Origin:DataDirectory={state.Combine("origin")}",
            "--Origin:Web:SteeringUrls:0=http://198.18.0.10:8200/",
            "--Origin:Web:SteeringUrls:1=http://198.18.0.11:8200",
            "--Origin:Web:SteeringUrls:2=http://198.18.0.10:8200");
        using var client = origin.CreateClient();
        using var config = JsonDocument.Parse(await client.GetStringAsync("/app/config.json"));
        Assert.Equal("http://198.18.0.10:8200", config.RootElement.GetProperty("steeringUrl").GetString());
        Assert.Equal(
            ["http://198.18.0.10:8200", "http://198.18.0.11:8200"],
            config.RootElement.GetProperty("steeringUrls").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void WithoutAList_TheOneSteeringUrlIsTheList()
    {
        Assert.Equal(["http://127.0.0.1:8200"], new WebAppOptions().EffectiveSteeringUrls());
    }

    [Theory]
    [InlineData("steering-b:8200")]
    [InlineData("ftp://198.18.0.11/")]
    [InlineData("")]
    public void ABadSteeringAddress_IsRefused_NamingItsIndex(string url)
    {
        var check = new OptionsCheck("Origin");
        new WebAppOptions { SteeringUrls = ["http://198.18.0.10:8200", url] }.Validate(check, fleetConfigured: false);
        var error = Assert.Single(check.Errors);
        Assert.StartsWith("Origin:Web:SteeringUrls:1", error, StringComparison.Ordinal);
    }
}
