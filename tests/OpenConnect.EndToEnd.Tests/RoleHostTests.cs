using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenConnect.Testing;

namespace OpenConnect.EndToEnd.Tests;

public sealed class RoleHostTests
{
    [Theory]
    [MemberData(nameof(RoleUnderTest.Names), MemberType = typeof(RoleUnderTest))]
    public async Task Role_Boots_AnswersHealthzAndServesValidPrometheusText(string name)
    {
        var role = RoleUnderTest.All[name];
        using var state = new TempDirectory();
        await using var host = await RunningRole.StartAsync(role.Build, role.Settings(state.Path));
        using var client = host.CreateManagementClient();

        using var health = await client.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using var json = JsonDocument.Parse(await health.Content.ReadAsStringAsync());
        Assert.Equal(name, json.RootElement.GetProperty("role").GetString());
        Assert.Equal("Healthy", json.RootElement.GetProperty("status").GetString());

        using var metrics = await client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.StartsWith("text/plain", metrics.Content.Headers.ContentType?.MediaType);
        var document = PrometheusText.Parse(await metrics.Content.ReadAsStringAsync());
        Assert.True(document.IsValid, string.Join(Environment.NewLine, document.Errors));
        var buildInfo = Assert.Single(document.Families["openconnect_build_info"].Samples);
        Assert.Equal(name, buildInfo.Labels["role"]);
        Assert.Equal(1, buildInfo.Value);
        Assert.True(document.Families.ContainsKey("process_cpu_seconds_total"));
        Assert.Contains(document.Families["http_request_duration_seconds"].Samples, s =>
            s.Name == "http_request_duration_seconds_count" && s.Labels["endpoint"] == "/healthz" && s.Labels["code"] == "200" && s.Value >= 1);
    }

    [Theory]
    [MemberData(nameof(RoleUnderTest.Names), MemberType = typeof(RoleUnderTest))]
    public async Task Role_ServesHealthAndMetrics_OnTheManagementListenerOnly(string name)
    {
        var role = RoleUnderTest.All[name];
        using var state = new TempDirectory();
        await using var host = await RunningRole.StartAsync(role.Build, role.Settings(state.Path));
        Assert.NotEqual(host.BaseAddress.Port, host.ManagementAddress.Port);
        using var data = host.CreateClient();
        Assert.Equal(HttpStatusCode.NotFound, (await data.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await data.GetAsync("/metrics")).StatusCode);

        using var management = host.CreateManagementClient();
        Assert.Equal(HttpStatusCode.OK, (await management.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await management.GetAsync("/metrics")).StatusCode);
        // Nothing but health and metrics there: not the role's public pages or API.
        Assert.Equal(HttpStatusCode.NotFound, (await management.GetAsync("/")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await management.GetAsync("/api/titles")).StatusCode);
    }

    [Theory]
    [MemberData(nameof(RoleUnderTest.Names), MemberType = typeof(RoleUnderTest))]
    public async Task Role_WithWildcardUrls_AnswersOnIPv4AndIPv6Loopback(string name)
    {
        var role = RoleUnderTest.All[name];
        using var state = new TempDirectory();
        await using var host = await RunningRole.StartAsync(role.Build, role.Settings(state.Path, "--urls", "http://*:0"));
        var port = host.BaseAddress.Port;
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        foreach (var address in new[] { "127.0.0.1", "[::1]" })
        {
            // Any answer from the role proves the listener; /healthz is 404 on a data port by design.
            using var response = await client.GetAsync($"http://{address}:{port}/healthz");
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }
    }

    [Theory]
    [InlineData("origin", 503, "Unhealthy")]
    [InlineData("steering", 503, "Unhealthy")]
    [InlineData("fill-controller", 503, "Unhealthy")]
    [InlineData("appliance", 200, "Degraded")] // a failing cache disk degrades the appliance to pass-through
    public async Task Role_HealthzReports_WhenStateDirectoryIsLost(string name, int status, string overall)
    {
        var role = RoleUnderTest.All[name];
        using var state = new TempDirectory();
        var directory = state.Combine("state");
        await using var host = await RunningRole.StartAsync(role.Build, role.Settings(directory));
        using var client = host.CreateManagementClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);

        Directory.Delete(directory, recursive: true);

        using var health = await client.GetAsync("/healthz");
        Assert.Equal(status, (int)health.StatusCode);
        var body = await health.Content.ReadAsStringAsync();
        Assert.Contains("not writable", body);
        Assert.Contains($"\"status\":\"{overall}\"", body);
    }

    [Theory]
    [InlineData("appliance", "--Appliance:Cache:RamBytes=-1", "Appliance:Cache:RamBytes")]
    [InlineData("appliance", "--Appliance:Cache:SsdBytes=lots", "Appliance:Cache:SsdBytes")]
    [InlineData("appliance", "--Appliance:Parents:0=origin:8100", "Appliance:Parents:0")]
    [InlineData("appliance", "--Appliance:Cache:Policy=belady", "Appliance:Cache:Policy")]
    [InlineData("appliance", "--Appliance:Cache:RamByts=1", "RamByts")]
    [InlineData("origin", "--Origin:DataDirectory= ", "Origin:DataDirectory")]
    [InlineData("steering", "--Steering:Nonsense=1", "Nonsense")]
    [InlineData("fill-controller", "--FillController:DataDirectory= ", "FillController:DataDirectory")]
    public async Task Role_RefusesToStartInProcess_OnInvalidSetting_NamingTheKey(string name, string setting, string key)
    {
        var role = RoleUnderTest.All[name];
        using var state = new TempDirectory();
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(
            () => RunningRole.StartAsync(role.Build, role.Settings(state.Path, setting)));
        Assert.Contains(key, OpenConnect.Hosting.RoleHost.DescribeStartupFailure(failure));
    }

    [Theory]
    [InlineData("appliance", "--Appliance:Cache:RamBytes=0", "Appliance:Cache:RamBytes")]
    [InlineData("origin", "--Origin:Colour=blue", "Colour")]
    [InlineData("steering", "--Steering:DataDirectory= ", "Steering:DataDirectory")]
    [InlineData("fill-controller", "--FillController:DataDirectory= ", "FillController:DataDirectory")]
    public async Task RoleProcess_ExitsWithCode2AndOneLineMessage_OnInvalidSetting(string name, string setting, string key)
    {
        var role = RoleUnderTest.All[name];
        using var state = new TempDirectory();
        var result = await ExternalProcess.RunAsync(
            "dotnet",
            [role.AssemblyPath, "--urls", "http://127.0.0.1:0", .. role.Settings(state.Path, setting)],
            TimeSpan.FromSeconds(60));

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"{name}: cannot start: ", line);
        Assert.Contains(key, line);
        Assert.DoesNotContain("   at ", result.StandardOutput + result.StandardError);
    }

    [Theory]
    [InlineData("appliance", "http://127.0.0.1", "is not an http:// or https:// address with a port")]
    [InlineData("origin", "https://127.0.0.1:0", "must be http://")]
    [InlineData("steering", "http://management.example:9200", "not a host name")]
    [InlineData("fill-controller", "http://127.0.0.1:0;http://[::1]:0", "exactly one address")]
    public async Task RoleProcess_ExitsWithCode2_OnBadManagementUrl(string name, string url, string problem)
    {
        var role = RoleUnderTest.All[name];
        using var state = new TempDirectory();
        var result = await ExternalProcess.RunAsync(
            "dotnet",
            [role.AssemblyPath, "--urls", "http://127.0.0.1:0", .. role.Settings(state.Path, $"--Management:Url={url}")],
            TimeSpan.FromSeconds(60));

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"{name}: cannot start: ", line);
        Assert.Contains($"Management:Url = '{url}' is invalid: ", line);
        Assert.Contains(problem, line);
    }

    [Fact]
    public async Task RoleProcess_ReadsConfigFile_AndCommandLineOverridesIt()
    {
        var role = RoleUnderTest.All["appliance"];
        using var state = new TempDirectory();
        var config = state.Combine("appliance.json");
        await File.WriteAllTextAsync(config, """{ "Appliance": { "Cache": { "RamBytes": -7 } } }""");

        var fromFile = await ExternalProcess.RunAsync("dotnet", [role.AssemblyPath, "--config", config, "--urls", "http://127.0.0.1:0", .. role.Extra], TimeSpan.FromSeconds(60));
        Assert.Equal(2, fromFile.ExitCode);
        Assert.Contains("Appliance:Cache:RamBytes = '-7'", fromFile.StandardError);

        var missing = await ExternalProcess.RunAsync("dotnet", [role.AssemblyPath, "--config", state.Combine("absent.json"), "--urls", "http://127.0.0.1:0", .. role.Extra], TimeSpan.FromSeconds(60));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("absent.json", missing.StandardError);

        await using var host = await RunningRole.StartAsync(role.Build, role.Settings(state.Path, "--config", config, "--Appliance:Cache:RamBytes=1048576"));
        Assert.Equal(1048576, host.Services.GetRequiredService<IOptions<OpenConnect.Appliance.ApplianceOptions>>().Value.Cache.RamBytes);
    }
}
