using System.Net;
using System.Text.Json;
using OpenConnect.Hosting;
using OpenConnect.Origin.Tests.Catalog;
using OpenConnect.Origin.Web;

namespace OpenConnect.Origin.Tests.Web;

/// <summary>The operator page's fleet API on the origin: admins only, and its settings checked at start.</summary>
public sealed class OperatorFleetApiTests
{
    [Fact]
    public async Task TheFleetApi_IsForAdminsOnly_AndSaysWhatIsNotConfigured()
    {
        await using var origin = await CatalogOrigin.StartAsync();
        using (var anonymous = await origin.SendAsync(HttpMethod.Get, "/api/v1/operator/fleet", token: null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        var (viewer, _) = await origin.UserAsync("viewer1");
        using (var refused = await origin.SendAsync(HttpMethod.Get, "/api/v1/operator/fleet", viewer))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        using var answer = await origin.SendAsync(HttpMethod.Get, "/api/v1/operator/fleet", await origin.AdminTokenAsync());
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("no-store", answer.Headers.CacheControl?.ToString());
        using var body = JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
        Assert.Equal(JsonValueKind.Null, body.RootElement.GetProperty("roster").ValueKind);
        Assert.Equal("Origin:Web:FleetSteeringUrl is not set", body.RootElement.GetProperty("rosterError").GetString());
        Assert.Equal(JsonValueKind.Null, body.RootElement.GetProperty("fill").ValueKind);
        Assert.Equal("Origin:Web:FleetFillControllerUrl is not set", body.RootElement.GetProperty("fillError").GetString());
    }

    [Theory]
    [InlineData("", true, null)]
    [InlineData("https://10.0.0.2:8281", true, null)]
    [InlineData("https://10.0.0.2:8281", false, "needs the origin's fleet certificate")]
    [InlineData("http://10.0.0.2:8281", true, "must be empty or an https:// URL")]
    [InlineData("https://10.0.0.2:8281/fleet", true, "must be empty or an https:// URL")]
    [InlineData("steering:8281", true, "must be empty or an https:// URL")]
    public void FleetUrls_AreChecked_NamingTheKey(string url, bool fleetConfigured, string? problem)
    {
        foreach (var (options, key) in new[] { (new WebAppOptions { FleetSteeringUrl = url }, "Origin:Web:FleetSteeringUrl"), (new WebAppOptions { FleetFillControllerUrl = url }, "Origin:Web:FleetFillControllerUrl") })
        {
            var check = new OptionsCheck("Origin");
            options.Validate(check, fleetConfigured);
            if (problem is null)
            {
                Assert.Empty(check.Errors);
            }
            else
            {
                var error = Assert.Single(check.Errors);
                Assert.StartsWith(key, error, StringComparison.Ordinal);
                Assert.Contains(problem, error, StringComparison.Ordinal);
            }
        }
    }
}
