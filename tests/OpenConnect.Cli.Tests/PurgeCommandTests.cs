using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Appliance.Caching;
using OpenConnect.Hosting;
using OpenConnect.Testing;

namespace OpenConnect.Cli.Tests;

/// <summary>
/// purge against a real appliance's control listener (in-process, mutual TLS with the fleet CA): an
/// operator drops an object, a title or everything, the options before or after the subcommand; bad
/// input and other identities end with one line and their own exit code.
/// </summary>
public sealed class PurgeCommandTests : IAsyncLifetime
{
    private const string Segment = "/v/tp/720p/seg-00001.m4s";

    private readonly TestFleetFiles _fleet = new();
    private TestParent _parent = null!;
    private RunningRole _appliance = null!;

    private string Control => _appliance.Services.GetRequiredService<RoleListeners>().ControlAddress.ToString();

    public async Task InitializeAsync()
    {
        _parent = await TestParent.StartAsync();
        _parent.Put(Segment, new byte[30_000]);
        _appliance = await _fleet.StartApplianceAsync("isp1", "oca1", _parent.BaseAddress);
    }

    private async Task WarmAsync()
    {
        var cache = _appliance.Services.GetRequiredService<SegmentCache>();
        var prefetched = await cache.PrefetchAsync(KeyHash.Of(Segment), Segment, CancellationToken.None);
        Assert.True(prefetched.Ok, prefetched.Error);
    }

    [Fact]
    public async Task AnOperator_PurgesATitle_AsATable_AndEverything_AsJson()
    {
        await WarmAsync();
        var title = await CliRun.RunAsync(["purge", "--appliance", Control, "title", "tp", .. _fleet.Operator()]);
        Assert.True(title.ExitCode == 0, title.ToString());
        var lines = title.Output.Trim().Split('\n');
        Assert.Equal(["APPLIANCE", "CONTROL", "URL", "SCOPE", "OBJECTS", "PINS", "404S"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["openconnect://appliance/isp1/oca1", Control, "title", "tp", "1", "0", "0"], lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(_appliance.Services.GetRequiredService<SegmentCache>().HeldOnSsd(KeyHash.Of(Segment)));

        await WarmAsync();
        var all = await CliRun.RunAsync(["purge", "all", "--appliance", Control, "--identity", "isp1/oca1", "--json", .. _fleet.Operator()]);
        Assert.True(all.ExitCode == 0, all.ToString());
        using var json = JsonDocument.Parse(all.Output);
        Assert.Equal("all", json.RootElement.GetProperty("scope").GetString());
        Assert.Equal(1, json.RootElement.GetProperty("objects").GetInt32());
        Assert.Equal("openconnect://appliance/isp1/oca1", json.RootElement.GetProperty("appliance").GetString());
    }

    [Fact]
    public async Task AnOperator_PurgesOneObject()
    {
        await WarmAsync();
        var run = await CliRun.RunAsync(["purge", "--appliance", Control, "--json", "object", Segment, .. _fleet.Operator()]);
        Assert.True(run.ExitCode == 0, run.ToString());
        using var json = JsonDocument.Parse(run.Output);
        Assert.Equal($"object {Segment}", json.RootElement.GetProperty("scope").GetString());
        Assert.Equal(1, json.RootElement.GetProperty("objects").GetInt32());
    }

    [Theory]
    [InlineData("object", "/etc/passwd", "is not a content path")]
    [InlineData("title", "../x", "is not a title id")]
    public async Task ABadPathOrTitle_IsAUsageError_BeforeAnyCall(string scope, string value, string problem)
    {
        var run = await CliRun.RunAsync(["purge", "--appliance", Control, scope, value, .. _fleet.Operator()]);
        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains(problem, run.Error, StringComparison.Ordinal);
        Assert.Empty(run.Output);
    }

    [Fact]
    public async Task AnApplianceCertificate_Gets403_AndItsExitCode()
    {
        var run = await CliRun.RunAsync(["purge", "--appliance", Control, "all", .. _fleet.Credentials("openconnect://appliance/isp1/oca2")]);
        Assert.Equal(ExitCodes.Forbidden, run.ExitCode);
        Assert.StartsWith("openconnect: POST /control/purge: 403 Forbidden:", run.Error);
    }

    public async Task DisposeAsync()
    {
        await _appliance.DisposeAsync();
        await _parent.DisposeAsync();
        _fleet.Dispose();
    }
}
