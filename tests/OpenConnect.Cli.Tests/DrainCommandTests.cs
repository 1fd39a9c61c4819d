using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Appliance.Control;
using OpenConnect.Hosting;
using OpenConnect.Testing;

namespace OpenConnect.Cli.Tests;

/// <summary>
/// drain, undrain and drain-status against a real appliance's control listener (in-process, mutual
/// TLS with the fleet CA): an operator switches it; anything else ends with one line and its own exit code.
/// </summary>
public sealed class DrainCommandTests : IAsyncLifetime
{
    private readonly TestFleetFiles _fleet = new();
    private TestParent _parent = null!;
    private RunningRole _appliance = null!;

    private string Control => _appliance.Services.GetRequiredService<RoleListeners>().ControlAddress.ToString();

    private bool Draining => _appliance.Services.GetRequiredService<ControlState>().Draining;

    public async Task InitializeAsync()
    {
        _parent = await TestParent.StartAsync();
        _appliance = await _fleet.StartApplianceAsync("isp1", "oca1", _parent.BaseAddress);
    }

    [Fact]
    public async Task AnOperator_Drains_SeesItDraining_AndUndrains()
    {
        var drained = await CliRun.RunAsync(["drain", Control, .. _fleet.Operator()]);
        Assert.True(drained.ExitCode == 0, drained.ToString());
        Assert.True(Draining);
        var lines = drained.Output.Trim().Split('\n');
        Assert.Equal(["APPLIANCE", "CONTROL", "URL", "STATE"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["openconnect://appliance/isp1/oca1", Control, "draining"], lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries));

        var status = await CliRun.RunAsync(["drain-status", Control, "--appliance", "isp1/oca1", "--json", .. _fleet.Operator("bob")]);
        Assert.True(status.ExitCode == 0, status.ToString());
        using (var json = JsonDocument.Parse(status.Output))
        {
            Assert.True(json.RootElement.GetProperty("draining").GetBoolean());
            Assert.Equal("openconnect://appliance/isp1/oca1", json.RootElement.GetProperty("appliance").GetString());
            Assert.Equal(Control, json.RootElement.GetProperty("url").GetString());
        }

        var undrained = await CliRun.RunAsync(["undrain", Control, "--json", .. _fleet.Operator()]);
        Assert.True(undrained.ExitCode == 0, undrained.ToString());
        Assert.False(Draining);
        using var after = JsonDocument.Parse(undrained.Output);
        Assert.False(after.RootElement.GetProperty("draining").GetBoolean());
    }

    [Theory]
    [InlineData("openconnect://fill-controller")]
    [InlineData("openconnect://appliance/isp1/oca2")]
    public async Task AFleetCertificateThatIsNotAnOperators_Gets403_AndItsExitCode(string identity)
    {
        var run = await CliRun.RunAsync(["drain", Control, .. _fleet.Credentials(identity)]);
        Assert.Equal(ExitCodes.Forbidden, run.ExitCode);
        Assert.Empty(run.Output);
        Assert.StartsWith("openconnect: POST /control/drain: 403 Forbidden:", run.Error);
        Assert.Contains(identity, run.Error);
        Assert.Single(run.Error.Trim().Split('\n'));
        Assert.False(Draining);
    }

    [Fact]
    public async Task AnApplianceOtherThanTheExpectedOne_IsRefusedAtTheHandshake()
    {
        var run = await CliRun.RunAsync(["drain", Control, "--appliance", "isp1/oca9", .. _fleet.Operator()]);
        Assert.Equal(ExitCodes.HandshakeRefused, run.ExitCode);
        Assert.Contains("TLS handshake refused: the server is openconnect://appliance/isp1/oca1, not the expected identity", run.Error);
        Assert.False(Draining);
    }

    [Fact]
    public async Task AServerFromAnotherCa_IsRefusedAtTheHandshake()
    {
        // The operator trusts only the foreign CA: the appliance's certificate does not chain to it.
        var run = await CliRun.RunAsync(["drain", Control, .. _fleet.Credentials("openconnect://operator/alice", _fleet.Foreign, _fleet.Foreign.CaCertificateFile)]);
        Assert.Equal(ExitCodes.HandshakeRefused, run.ExitCode);
        Assert.Contains("not from the fleet CA", run.Error);
        Assert.False(Draining);
    }

    [Fact]
    public async Task AnOperatorCertificateFromAnotherCa_IsRefusedBeforeAnyCall()
    {
        var run = await CliRun.RunAsync(["drain", Control, .. _fleet.Credentials("openconnect://operator/alice", _fleet.Foreign)]);
        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("is not a fleet client certificate from --ca", run.Error);
        Assert.False(Draining);
    }

    [Fact]
    public async Task AnUnreachableAppliance_HasItsOwnExitCode()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var run = await CliRun.RunAsync(["drain-status", $"https://127.0.0.1:{port}", "--timeout", "5", .. _fleet.Operator()]);
        Assert.Equal(ExitCodes.Unreachable, run.ExitCode);
        Assert.StartsWith($"openconnect: https://127.0.0.1:{port}/: unreachable:", run.Error);
    }

    [Fact]
    public async Task ACleartextUrl_IsAUsageError()
    {
        var run = await CliRun.RunAsync(["drain", Control.Replace("https://", "http://", StringComparison.Ordinal), .. _fleet.Operator()]);
        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("must be an https:// URL", run.Error);
    }

    public async Task DisposeAsync()
    {
        await _appliance.DisposeAsync();
        await _parent.DisposeAsync();
        _fleet.Dispose();
    }
}
