using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Steering;
using OpenConnect.Steering.Fleet;
using OpenConnect.Testing;

namespace OpenConnect.Cli.Tests;

/// <summary>
/// enroll and status with <c>--steering</c> given once per replica, against two real steering hosts
/// in-process, each with its own copy of the fleet directory (the README's replica set-up): changes
/// go to both and report per replica, reads come from the first that answers.
/// </summary>
public sealed class SteeringReplicaCommandTests : IAsyncLifetime
{
    /// <summary>Nothing listens on port 1: a replica that is down (connection refused).</summary>
    private const string Down = "https://127.0.0.1:1/";

    private readonly TempDirectory _state = new("openconnect-cli-replicas");
    private TestFleetFiles _fleet = null!;
    private RunningRole _first = null!;
    private RunningRole _second = null!;

    private string First => _first.Services.GetRequiredService<FleetEndpoint>().Address.ToString();

    private string Second => _second.Services.GetRequiredService<FleetEndpoint>().Address.ToString();

    public async Task InitializeAsync()
    {
        _fleet = new TestFleetFiles(_state.Combine("steering", "fleet"));
        _first = await StartSteeringAsync("steering", _state.Combine("steering", "fleet"));
        var copy = _state.Combine("fleet-copy");
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(_state.Combine("steering", "fleet")))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }

        _second = await StartSteeringAsync("steering-2", copy);
    }

    [Fact]
    public async Task EnrollAdd_GivesEveryReplicaTheSameCode_AndRemove_ReachesEvery_OneRowEach()
    {
        var added = await CliRun.RunAsync(["enroll", "add", "ocr1", "--site", "isp1", "--steering", First, "--steering", Second, "--json", .. _fleet.Operator()]);
        Assert.True(added.ExitCode == 0, added.ToString());
        using (var json = JsonDocument.Parse(added.Output))
        {
            var code = json.RootElement.GetProperty("result").GetProperty("code").GetString();
            Assert.False(string.IsNullOrEmpty(code));
            var replicas = json.RootElement.GetProperty("replicas").EnumerateArray().ToList();
            Assert.Equal([First, Second], replicas.Select(r => r.GetProperty("steering").GetString()));
            Assert.All(replicas, r => Assert.True(r.GetProperty("ok").GetBoolean()));
            Assert.All(replicas, r => Assert.Equal(code, r.GetProperty("answer").GetProperty("code").GetString()));
        }

        // Each replica lists it (each has its own records).
        foreach (var steering in (string[])[First, Second])
        {
            var listed = await CliRun.RunAsync(["enroll", "list", "--steering", steering, "--json", .. _fleet.Operator()]);
            Assert.Equal(["ocr1"], JsonDocument.Parse(listed.Output).RootElement.EnumerateArray().Select(a => a.GetProperty("id").GetString()));
        }

        var removed = await CliRun.RunAsync(["enroll", "remove", "ocr1", "--steering", First, "--steering", Second, .. _fleet.Operator()]);
        Assert.True(removed.ExitCode == 0, removed.ToString());
        var lines = removed.Output.Trim().Split('\n');
        Assert.Equal("removed ocr1", lines[0]);
        Assert.Equal(["STEERING", "RESULT"], lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal([$"{First} removed", $"{Second} removed"], lines[2..].Select(Squeeze));
        Assert.Equal("", removed.Error);

        foreach (var steering in (string[])[First, Second])
        {
            var listed = await CliRun.RunAsync(["enroll", "list", "--steering", steering, "--json", .. _fleet.Operator()]);
            Assert.Equal(0, JsonDocument.Parse(listed.Output).RootElement.GetArrayLength());
        }

        var again = await CliRun.RunAsync(["enroll", "remove", "ocr1", "--steering", First, "--steering", Second, .. _fleet.Operator()]);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Equal("ocr1 was already removed", again.Output.Trim().Split('\n')[0]);
    }

    [Fact]
    public async Task AReplicaThatIsDown_FailsItsRow_AndTheExitCode_WhileTheOthersTakeTheChange()
    {
        var added = await CliRun.RunAsync(["enroll", "add", "ocr2", "--site", "isp1", "--steering", Down, "--steering", First, "--steering", Second, .. _fleet.Operator()]);
        Assert.Equal(ExitCodes.Unreachable, added.ExitCode);
        var lines = added.Output.Trim().Split('\n');
        Assert.StartsWith("openconnect://appliance/isp1/ocr2: enrollment code ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith($"{Down} failed: {Down}: unreachable: ", Squeeze(lines[2]), StringComparison.Ordinal);
        Assert.Equal([$"{First} added", $"{Second} added"], lines[3..].Select(Squeeze));
        Assert.StartsWith($"openconnect: {Down}: {Down}: unreachable: ", added.Error.Trim(), StringComparison.Ordinal);

        var removed = await CliRun.RunAsync(["enroll", "remove", "ocr2", "--steering", First, "--steering", Down, "--steering", Second, "--json", .. _fleet.Operator()]);
        Assert.Equal(ExitCodes.Unreachable, removed.ExitCode);
        using var json = JsonDocument.Parse(removed.Output);
        Assert.Equal("ocr2", json.RootElement.GetProperty("result").GetProperty("removed").GetString());
        var replicas = json.RootElement.GetProperty("replicas").EnumerateArray().ToList();
        Assert.Equal([true, false, true], replicas.Select(r => r.GetProperty("ok").GetBoolean()));
        Assert.Equal([0, ExitCodes.Unreachable, 0], replicas.Select(r => r.GetProperty("exitCode").GetInt32()));
        Assert.Equal("ocr2", replicas[2].GetProperty("answer").GetProperty("removed").GetString());
    }

    [Fact]
    public async Task Reads_ComeFromTheFirstReplicaThatAnswers_AndFailOnlyWhenNoneDoes()
    {
        var listed = await CliRun.RunAsync(["enroll", "list", "--steering", Down, "--steering", Second, .. _fleet.Operator()]);
        Assert.True(listed.ExitCode == 0, listed.ToString());
        Assert.Equal("no appliances enrolled", listed.Output.Trim());

        var status = await CliRun.RunAsync(["status", "--steering", Down, "--steering", First, "--json", .. _fleet.Operator()]);
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Equal(0, JsonDocument.Parse(status.Output).RootElement.GetProperty("roster").GetProperty("appliances").GetArrayLength());

        var none = await CliRun.RunAsync(["status", "--steering", Down, "--steering", "https://127.0.0.1:2/", .. _fleet.Operator()]);
        Assert.Equal(ExitCodes.Unreachable, none.ExitCode);
        Assert.StartsWith("openconnect: no steering replica could be reached: https://127.0.0.1:1/: unreachable: ", none.Error.Trim(), StringComparison.Ordinal);
        Assert.Contains("; https://127.0.0.1:2/: unreachable: ", none.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnSrvName_StandsForEachOfItsTargets_InPriorityOrder_AndOneWithoutTargetsIsAClearError()
    {
        const string Name = "_openconnect-enroll._tcp.openconnect.test";
        var (first, second) = (new Uri(First), new Uri(Second));
        await using var dns = await Dnsmasq.StartAsync(
            Dnsmasq.Srv(Name, "steering-b.openconnect.test", second.Port, priority: 20),
            Dnsmasq.Srv(Name, "steering-a.openconnect.test", first.Port, priority: 10),
            Dnsmasq.Host("steering-a.openconnect.test", "127.0.0.1"),
            Dnsmasq.Host("steering-b.openconnect.test", "127.0.0.1"));

        var added = await CliRun.RunAsync(["enroll", "add", "ocr3", "--site", "isp1", "--steering", Name, "--dns-server", dns.Server, "--json", .. _fleet.Operator()]);
        Assert.True(added.ExitCode == 0, added.ToString());
        using (var json = JsonDocument.Parse(added.Output))
        {
            Assert.Equal([First, Second], json.RootElement.GetProperty("replicas").EnumerateArray().Select(r => r.GetProperty("steering").GetString()));
        }

        // Named twice (the SRV name and one of its targets): each replica once.
        var removed = await CliRun.RunAsync(["enroll", "remove", "ocr3", "--steering", Second, "--steering", Name, "--dns-server", dns.Server, "--json", .. _fleet.Operator()]);
        Assert.True(removed.ExitCode == 0, removed.ToString());
        using (var json = JsonDocument.Parse(removed.Output))
        {
            Assert.Equal([Second, First], json.RootElement.GetProperty("replicas").EnumerateArray().Select(r => r.GetProperty("steering").GetString()));
        }

        var missing = await CliRun.RunAsync(["status", "--steering", "_nothing._tcp.openconnect.test", "--dns-server", dns.Server, .. _fleet.Operator()]);
        Assert.Equal(ExitCodes.Unreachable, missing.ExitCode);
        Assert.Equal($"openconnect: --steering _nothing._tcp.openconnect.test: the SRV name has no targets at {dns.Server} (or the DNS server did not answer)", missing.Error.Trim());

        var badServer = await CliRun.RunAsync(["status", "--steering", Name, "--dns-server", "dns.example", .. _fleet.Operator()]);
        Assert.Equal(ExitCodes.Usage, badServer.ExitCode);
        Assert.Contains("--dns-server 'dns.example' must be address:port", badServer.Error, StringComparison.Ordinal);
    }

    public async Task DisposeAsync()
    {
        await _second.DisposeAsync();
        await _first.DisposeAsync();
        _fleet.Dispose();
        _state.Dispose();
    }

    private Task<RunningRole> StartSteeringAsync(string name, string fleetDirectory) => RunningRole.StartAsync(
        SteeringHost.Build,
        $"--Steering:DataDirectory={_state.Combine(name)}",
        $"--Steering:Fleet:Directory={fleetDirectory}",
        "--Steering:ControlUrl=https://127.0.0.1:0",
        "--Steering:Fleet:EnrollUrl=https://127.0.0.1:0");

    /// <summary>A table row with its padding squeezed to one space.</summary>
    private static string Squeeze(string row) => string.Join(' ', row.Split(' ', StringSplitOptions.RemoveEmptyEntries));
}
