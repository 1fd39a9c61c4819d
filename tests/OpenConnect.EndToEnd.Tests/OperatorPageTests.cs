using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace OpenConnect.EndToEnd.Tests;

/// <summary>
/// The operator page on a running stack (origin, steering, two appliances, the fill controller):
/// the origin's admin-only fleet API reads steering's roster and the fill controller's sites with
/// the origin's fleet certificate, and <c>tests/node/operator-e2e.js</c> logs in as the admin in
/// headless Chromium, sees both appliances healthy with their site's fill progress against the
/// night window, and saves <c>operator.png</c> beside the other screenshots; a viewer is refused.
/// </summary>
public sealed class OperatorPageTests
{
    [Fact]
    public async Task AnAdmin_SeesTheFleet_AViewerIsRefused()
    {
        await using var stack = await SteeredStack.StartWebAsync(fillController: true);
        using var client = stack.Origin.CreateClient();

        using (var anonymous = await client.GetAsync("/api/v1/operator/fleet"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        // The API first: both appliances healthy in steering's roster, and site local in the fill controller's.
        var token = await AdminTokenAsync(client);
        var ids = stack.Appliances.Select(a => a.Id).ToArray();
        using var fleet = await WaitForFleetAsync(client, token, ids);
        var roster = fleet.RootElement.GetProperty("roster");
        Assert.Equal(JsonValueKind.Null, fleet.RootElement.GetProperty("rosterError").ValueKind);
        Assert.Equal(JsonValueKind.Null, fleet.RootElement.GetProperty("fillError").ValueKind);
        foreach (var appliance in roster.GetProperty("appliances").EnumerateArray())
        {
            Assert.Equal("local", appliance.GetProperty("site").GetString());
            Assert.Equal("healthy", appliance.GetProperty("health").GetString());
            Assert.False(string.IsNullOrEmpty(appliance.GetProperty("version").GetString()));
            Assert.True(appliance.GetProperty("capacityBytesPerSecond").GetInt64() > 0);
        }

        var site = Assert.Single(roster.GetProperty("sites").EnumerateArray());
        Assert.Equal(("local", 2), (site.GetProperty("name").GetString(), site.GetProperty("healthy").GetInt32()));
        var fill = fleet.RootElement.GetProperty("fill").GetProperty("sites").EnumerateArray().Single(s => s.GetProperty("site").GetString() == "local");
        Assert.True(fill.GetProperty("windowEnd").GetDateTimeOffset() > fill.GetProperty("windowStart").GetDateTimeOffset());

        await using var browser = PlayerScript.Start("operator-e2e.js", ["--origin", stack.Origin.BaseAddress.ToString(), "--password", SteeredStack.AdminPassword, "--appliances", string.Join(',', ids), "--screenshots", WebAppTests.ScreenshotDirectory, "--timeout-seconds", "120"]);
        var result = await browser.ReadAsync("RESULT", TimeSpan.FromMinutes(4));
        Assert.True(result.GetProperty("ok").GetBoolean(), $"the browser run failed: {browser.Transcript}");

        // Both appliances on the page, healthy, in site local; the site row has the fill progress.
        var rows = result.GetProperty("appliances").EnumerateArray().ToList();
        Assert.Equal(ids, rows.Select(r => r.GetProperty("id").GetString()));
        Assert.All(rows, r => Assert.Equal("healthy", r.GetProperty("health").GetString()));
        Assert.All(rows, r => Assert.Equal("local", r.GetProperty("cells")[0].GetString()));
        var siteRow = Assert.Single(result.GetProperty("sites").EnumerateArray());
        Assert.Equal("local", siteRow.GetProperty("site").GetString());
        var cells = siteRow.GetProperty("cells").EnumerateArray().Select(c => c.GetString()!).ToList();
        Assert.Equal("2 of 2", cells[1]);
        Assert.Contains("window", cells[^1]);
        Assert.StartsWith("2 appliances in 1 site: 2 healthy", result.GetProperty("summary").GetString());
        Assert.Equal("", result.GetProperty("problems").GetString());
        Assert.True(result.GetProperty("refreshed").GetBoolean());

        // A viewer has no link, the page says no, and the API answers 403.
        Assert.False(result.GetProperty("viewerHasLink").GetBoolean());
        Assert.Equal("The operator page is for admin accounts.", result.GetProperty("viewerDenied").GetString());
        Assert.Equal(403, result.GetProperty("viewerApiStatus").GetInt32());

        var screenshot = Path.Combine(WebAppTests.ScreenshotDirectory, "operator.png");
        Assert.True(File.Exists(screenshot) && new FileInfo(screenshot).Length > 10_000, $"screenshot {screenshot} is missing or empty");
    }

    private static async Task<string> AdminTokenAsync(HttpClient client)
    {
        using var login = await client.PostAsJsonAsync("/api/v1/auth/login", new { name = "admin", password = SteeredStack.AdminPassword });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        using var body = JsonDocument.Parse(await login.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("token").GetString()!;
    }

    /// <summary>The origin's fleet view once steering lists every one of <paramref name="ids"/> as healthy and the fill controller answers.</summary>
    private static async Task<JsonDocument> WaitForFleetAsync(HttpClient client, string token, string[] ids)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/operator/fleet");
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            using var response = await client.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
            var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            var healthy = root.GetProperty("roster") is { ValueKind: JsonValueKind.Object } roster
                ? roster.GetProperty("appliances").EnumerateArray().Where(a => a.GetProperty("health").GetString() == "healthy").Select(a => a.GetProperty("id").GetString()).ToHashSet()
                : [];
            var fillSites = root.GetProperty("fill") is { ValueKind: JsonValueKind.Object } fill ? fill.GetProperty("sites").GetArrayLength() : 0;
            if (ids.All(healthy.Contains) && fillSites > 0)
            {
                return document;
            }

            document.Dispose();
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the fleet never showed {string.Join(", ", ids)} healthy with the fill controller's sites: {text}");
            }

            await Task.Delay(500);
        }
    }
}
