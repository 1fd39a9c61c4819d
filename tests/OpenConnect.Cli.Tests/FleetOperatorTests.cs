using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.FillController;
using OpenConnect.FillController.Fill;
using OpenConnect.Hosting;
using OpenConnect.Steering;
using OpenConnect.Steering.ControlPlane;
using OpenConnect.Steering.Fleet;
using OpenConnect.Testing;

namespace OpenConnect.Cli.Tests;

/// <summary>
/// enroll (steering's enrollment listener, operator certificate or token) and fill (the fill
/// controller's control listener) against real steering and fill-controller hosts in-process,
/// sharing one fleet CA (steering's own, written into its fleet directory before it starts).
/// </summary>
public sealed class FleetOperatorTests : IAsyncLifetime
{
    private readonly TempDirectory _state = new("openconnect-cli-fleet-stack");
    private TestFleetFiles _fleet = null!;
    private RunningRole _steering = null!;
    private RunningRole _fillController = null!;

    private string Enroll => _steering.Services.GetRequiredService<FleetEndpoint>().Address.ToString();

    private string SteeringControl => _steering.Services.GetRequiredService<ControlEndpoint>().Address.ToString();

    private string Fill => _fillController.Services.GetRequiredService<FillControlEndpoint>().Address.ToString();

    private string TokenFile => _state.Combine("steering", "fleet", "operator.token");

    public async Task InitializeAsync()
    {
        _fleet = new TestFleetFiles(_state.Combine("steering", "fleet"));
        _steering = await RunningRole.StartAsync(
            SteeringHost.Build,
            $"--Steering:DataDirectory={_state.Combine("steering")}",
            "--Steering:ControlUrl=https://127.0.0.1:0",
            "--Steering:Fleet:EnrollUrl=https://127.0.0.1:0");
        var (certificate, key) = _fleet.Ca.WriteService(_state.Combine("fill-controller-fleet"), "fill-controller", "openconnect://fill-controller");
        _fillController = await RunningRole.StartAsync(
            FillControllerHost.Build,
            $"--FillController:DataDirectory={_state.Combine("fill-controller")}",
            $"--FillController:Fleet:CertificateFile={certificate}",
            $"--FillController:Fleet:KeyFile={key}",
            $"--FillController:Fleet:CaCertificateFile={_fleet.Ca.CaCertificateFile}",
            "--FillController:Fill:ControlUrl=https://127.0.0.1:0",
            $"--FillController:Fill:SteeringControlUrl={SteeringControl}",
            $"--FillController:Steering:Url={_steering.BaseAddress.ToString().TrimEnd('/')}");
    }

    [Fact]
    public async Task AnOperator_AddsListsAndRemovesAnAppliance_WithACertificate()
    {
        var added = await CliRun.RunAsync(["enroll", "add", "oca7", "--site", "isp1", "--steering", Enroll, "--json", .. _fleet.Operator()]);
        Assert.True(added.ExitCode == 0, added.ToString());
        using (var json = JsonDocument.Parse(added.Output))
        {
            Assert.Equal("openconnect://appliance/isp1/oca7", json.RootElement.GetProperty("identity").GetString());
            Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("code").GetString()));
        }

        var listed = await CliRun.RunAsync(["enroll", "list", "--steering", Enroll, .. _fleet.Operator()]);
        Assert.True(listed.ExitCode == 0, listed.ToString());
        var rows = listed.Output.Trim().Split('\n');
        Assert.Equal(["SITE", "ID", "ENROLLED", "CODE", "EXPIRES", "REGISTERED"], rows[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        var row = rows[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["isp1", "oca7", "no"], row[..3]);
        Assert.Equal("no", row[^1]);

        var removed = await CliRun.RunAsync(["enroll", "remove", "oca7", "--steering", Enroll, .. _fleet.Operator()]);
        Assert.True(removed.ExitCode == 0, removed.ToString());
        Assert.Equal("removed oca7", removed.Output.Trim());

        var empty = await CliRun.RunAsync(["enroll", "list", "--steering", Enroll, "--json", .. _fleet.Operator()]);
        Assert.Equal(0, JsonDocument.Parse(empty.Output).RootElement.GetArrayLength());

        // Removing it again is no error (the same removal may reach a replica twice); an id steering never heard of is.
        var again = await CliRun.RunAsync(["enroll", "remove", "oca7", "--steering", Enroll, .. _fleet.Operator()]);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Equal("oca7 was already removed", again.Output.Trim());
        var unknown = await CliRun.RunAsync(["enroll", "remove", "oca9", "--steering", Enroll, .. _fleet.Operator()]);
        Assert.Equal(ExitCodes.ServiceError, unknown.ExitCode);
        Assert.Equal("openconnect: DELETE /fleet/appliances/oca9: 404 Not Found: appliance 'oca9' is not enrolled", unknown.Error.Trim());
    }

    [Fact]
    public async Task TheOperatorToken_TakesThePlaceOfTheCertificate_AndAWrongOneGets403()
    {
        var added = await CliRun.RunAsync("enroll", "add", "oca8", "--site", "isp2", "--steering", Enroll, "--token-file", TokenFile, "--ca", _fleet.Ca.CaCertificateFile);
        Assert.True(added.ExitCode == 0, added.ToString());
        Assert.StartsWith("openconnect://appliance/isp2/oca8: enrollment code ", added.Output);

        var wrongToken = _state.Combine("wrong.token");
        PrivateFile.Write(wrongToken, "not-the-operator-token-at-all\n");
        var refused = await CliRun.RunAsync("enroll", "list", "--steering", Enroll, "--token-file", wrongToken, "--ca", _fleet.Ca.CaCertificateFile);
        Assert.Equal(ExitCodes.Forbidden, refused.ExitCode);
        Assert.Equal("openconnect: GET /fleet/appliances: 403 Forbidden: operator credential refused", refused.Error.Trim());

        var none = await CliRun.RunAsync("enroll", "list", "--steering", Enroll, "--ca", _fleet.Ca.CaCertificateFile);
        Assert.Equal(ExitCodes.Usage, none.ExitCode);
        Assert.Contains("--token-file", none.Error);
    }

    [Fact]
    public async Task FillStatus_ShowsASiteWithoutARun_AndJsonParses()
    {
        var status = await CliRun.RunAsync(["fill", "status", "isp1", "--fill-controller", Fill, .. _fleet.Operator()]);
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Equal("site isp1: no fill run yet\nno titles planned", status.Output.Trim());

        var json = await CliRun.RunAsync(["fill", "status", "isp1", "--fill-controller", Fill, "--json", .. _fleet.Operator()]);
        using var document = JsonDocument.Parse(json.Output);
        Assert.Equal("isp1", document.RootElement.GetProperty("site").GetString());
        Assert.Equal(0, document.RootElement.GetProperty("titles").GetArrayLength());
    }

    [Fact]
    public async Task FillOpen_ForASiteSteeringDoesNotKnow_IsAServiceError_SayingWhy()
    {
        var run = await CliRun.RunAsync(["fill", "open", "isp9", "--fill-controller", Fill, .. _fleet.Operator()]);
        Assert.Equal(ExitCodes.ServiceError, run.ExitCode);
        Assert.Equal("openconnect: POST /fill/sites/isp9/open: 404 Not Found: steering knows no appliance in site 'isp9'", run.Error.Trim());
    }

    [Fact]
    public async Task FillStatus_WithANonOperatorCertificate_Gets403_AndTheOriginMayOnlyRead()
    {
        var run = await CliRun.RunAsync(["fill", "status", "isp1", "--fill-controller", Fill, .. _fleet.Credentials("openconnect://appliance/isp1/oca3")]);
        Assert.Equal(ExitCodes.Forbidden, run.ExitCode);
        Assert.Contains("403 Forbidden", run.Error);

        // The origin reads fill progress for the operator page; it may not open a fill.
        var read = await CliRun.RunAsync(["fill", "status", "isp1", "--fill-controller", Fill, .. _fleet.Credentials("openconnect://origin")]);
        Assert.True(read.ExitCode == 0, read.ToString());
        var open = await CliRun.RunAsync(["fill", "open", "isp1", "--fill-controller", Fill, .. _fleet.Credentials("openconnect://origin")]);
        Assert.Equal(ExitCodes.Forbidden, open.ExitCode);
        Assert.Contains("403 Forbidden", open.Error);
    }

    [Fact]
    public async Task AServiceThatIsNotTheFillController_IsRefusedAtTheHandshake()
    {
        var run = await CliRun.RunAsync(["fill", "status", "isp1", "--fill-controller", SteeringControl, .. _fleet.Operator()]);
        Assert.Equal(ExitCodes.HandshakeRefused, run.ExitCode);
        Assert.Contains("the server is openconnect://steering, not the expected identity", run.Error);
    }

    [Fact]
    public async Task Status_ShowsSitesAndAppliances_WithHealthLoadVersionAndFillProgress()
    {
        var empty = await CliRun.RunAsync(["status", "--steering", Enroll, .. _fleet.Operator()]);
        Assert.True(empty.ExitCode == 0, empty.ToString());
        Assert.Equal("0 appliance(s) in 0 site(s): 0 healthy", empty.Output.Trim());

        await using var parent = await TestParent.StartAsync();
        await using var appliance = await _fleet.StartApplianceAsync("isp1", "oca1", parent.BaseAddress, $"--Appliance:Steering:Url={SteeringControl}");
        await WaitForHeartbeatAsync("oca1");

        var status = await CliRun.RunAsync(["status", "--steering", Enroll, "--fill-controller", Fill, .. _fleet.Operator()]);
        Assert.True(status.ExitCode == 0, status.ToString());
        var lines = status.Output.Trim().Split('\n');
        Assert.Equal("1 appliance(s) in 1 site(s): 1 healthy", lines[0]);
        Assert.Equal("", lines[1]);
        Assert.Equal(["SITE", "HEALTHY", "OUT/CAPACITY", "Mbit/s", "CONNS", "HIT", "FILL"], Words(lines[2]));
        Assert.Equal(["isp1", "1/1"], Words(lines[3])[..2]);
        // No fill run yet: nothing planned, and the site's default window (02:00-06:00 UTC).
        Assert.Contains("nothing planned", lines[3]);
        Assert.Equal("", lines[4]);
        Assert.Equal(["SITE", "ID", "HEALTH", "LOAD", "OUT", "Mbit/s", "CONNS", "HIT", "HEARTBEAT", "TITLES", "SSD", "GB", "VERSION", "PUBLIC", "URL"], Words(lines[5]));
        var row = Words(lines[6]);
        Assert.Equal(["isp1", "oca1", "healthy"], row[..3]);
        Assert.Contains(RoleVersion.Current, row);
        Assert.Equal(appliance.BaseAddress.ToString().TrimEnd('/'), row[^1]);

        var json = await CliRun.RunAsync(["status", "--steering", Enroll, "--fill-controller", Fill, "--json", .. _fleet.Operator()]);
        Assert.True(json.ExitCode == 0, json.ToString());
        using var document = JsonDocument.Parse(json.Output);
        var roster = document.RootElement.GetProperty("roster");
        var site = Assert.Single(roster.GetProperty("sites").EnumerateArray());
        Assert.Equal("isp1", site.GetProperty("name").GetString());
        Assert.Equal(1, site.GetProperty("healthy").GetInt32());
        var entry = Assert.Single(roster.GetProperty("appliances").EnumerateArray());
        Assert.Equal("oca1", entry.GetProperty("id").GetString());
        Assert.Equal("healthy", entry.GetProperty("health").GetString());
        Assert.Equal(RoleVersion.Current, entry.GetProperty("version").GetString());
        Assert.True(entry.GetProperty("capacityBytesPerSecond").GetInt64() > 0);
        Assert.InRange(entry.GetProperty("heartbeatAgeSeconds").GetDouble(), 0, 30);
        var fill = Assert.Single(document.RootElement.GetProperty("fill").GetProperty("sites").EnumerateArray());
        Assert.Equal("isp1", fill.GetProperty("site").GetString());
        Assert.Equal(0, fill.GetProperty("copiesPlanned").GetInt32());
        Assert.Equal(JsonValueKind.Null, fill.GetProperty("progress").ValueKind);
        Assert.Equal(TimeSpan.FromHours(4), fill.GetProperty("windowEnd").GetDateTimeOffset() - fill.GetProperty("windowStart").GetDateTimeOffset());

        // The operator token reads the roster too.
        var token = await CliRun.RunAsync("status", "--steering", Enroll, "--token-file", TokenFile, "--ca", _fleet.Ca.CaCertificateFile);
        Assert.True(token.ExitCode == 0, token.ToString());
        Assert.StartsWith("1 appliance(s) in 1 site(s): 1 healthy", token.Output);
    }

    [Fact]
    public async Task Status_ReadsAsTheOrigin_ButTheOriginMayNotEnroll()
    {
        // The origin's certificate may read the roster (it serves the operator page), nothing else.
        var status = await CliRun.RunAsync(["status", "--steering", Enroll, .. _fleet.Credentials("openconnect://origin")]);
        Assert.True(status.ExitCode == 0, status.ToString());
        var list = await CliRun.RunAsync(["enroll", "list", "--steering", Enroll, .. _fleet.Credentials("openconnect://origin")]);
        Assert.Equal(ExitCodes.Forbidden, list.ExitCode);
        Assert.Equal("openconnect: GET /fleet/appliances: 403 Forbidden: operator credential refused", list.Error.Trim());
    }

    [Fact]
    public async Task Status_WithAnAppliancesCertificate_IsForbidden()
    {
        var run = await CliRun.RunAsync(["status", "--steering", Enroll, .. _fleet.Credentials("openconnect://appliance/isp1/oca3")]);
        Assert.Equal(ExitCodes.Forbidden, run.ExitCode);
        Assert.Equal("openconnect: GET /fleet/roster: 403 Forbidden: operator credential refused", run.Error.Trim());
    }

    [Fact]
    public async Task Status_AgainstTheControlListener_IsAServiceError()
    {
        // Same server identity, wrong listener: operator calls are on the enrollment port only (404 here).
        var run = await CliRun.RunAsync(["status", "--steering", SteeringControl, .. _fleet.Operator()]);
        Assert.Equal(ExitCodes.ServiceError, run.ExitCode);
        Assert.StartsWith("openconnect: GET /fleet/roster: 404", run.Error);
    }

    [Fact]
    public async Task Status_WhenTheFillControllerIsUnreachable_ExitsUnreachable()
    {
        // Steering answers; the fill controller's port has nobody listening.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var closed = $"https://127.0.0.1:{((System.Net.IPEndPoint)listener.LocalEndpoint).Port}";
        listener.Stop();
        var run = await CliRun.RunAsync(["status", "--steering", Enroll, "--fill-controller", closed, "--timeout", "5", .. _fleet.Operator()]);
        Assert.Equal(ExitCodes.Unreachable, run.ExitCode);
        Assert.StartsWith($"openconnect: {closed}/: unreachable:", run.Error);
    }

    private async Task WaitForHeartbeatAsync(string id)
    {
        var registry = _steering.Services.GetRequiredService<ApplianceRegistry>();
        var reports = _steering.Services.GetRequiredService<ApplianceReports>();
        for (var i = 0; i < 300 && (registry.Find(id) is null || reports.Find(id) is null); i++)
        {
            await Task.Delay(100);
        }

        Assert.NotNull(registry.Find(id));
    }

    private static string[] Words(string line) => line.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    public async Task DisposeAsync()
    {
        await _fillController.DisposeAsync();
        await _steering.DisposeAsync();
        _fleet.Dispose();
        _state.Dispose();
    }
}
