using System.Text.Json;
using OpenConnect.Testing;
using OpenConnect.Testing.Fleet;
using Xunit.Abstractions;

namespace OpenConnect.Fleet.Tests;

/// <summary>
/// A real Chromium player in a client's namespace starts a title the way the web app does
/// (<c>web/src/player/steering-addresses.js</c> through <c>tests/node/play-steering-failover.js</c>):
/// <c>/play</c> through a list of steering addresses, the first being replica <c>steering-2</c>, then
/// hls.js on the steered playlist of the replica that answered. With <c>steering-2</c> killed the
/// start goes through <c>steering</c>, whether the dead address refuses connections (the host is up,
/// the process gone) or swallows them (the host gone: nothing answers, not even a reset).
/// </summary>
/// <remarks>
/// The bound: the page asks the next address at once on a refused connection and after
/// <see cref="HedgeMs"/> beside a silent one; the live replica's own answer, on this shared two-core
/// machine with other builds running, can take a few seconds. So <c>/play</c> must be answered
/// within <see cref="HedgeMs"/> + <see cref="AnswerAllowance"/> (5 s), where a page with one address
/// fails at once (refused) or waits for the kernel's TCP connect time-out, about two minutes on
/// Linux (silent). The order of the attempts shows which rule moved it on.
/// </remarks>
[Collection(FleetCollection.Name)]
public sealed class FleetSteeringFailoverTests(ITestOutputHelper output)
{
    /// <summary>The web app's <c>HEDGE_MS</c> (given to the page explicitly, so the test states it).</summary>
    private const int HedgeMs = 1000;

    /// <summary>What the live replica may take to answer on this busy machine (see the remarks).</summary>
    private static readonly TimeSpan AnswerAllowance = TimeSpan.FromSeconds(4);

    /// <summary>A MAC address no host of the bed has: frames sent to it reach nobody.</summary>
    private const string NowhereMac = "02:00:5e:00:53:01";

    [FleetFact]
    public async Task WithTheFirstSteeringReplicaDead_ABrowserStartsThroughTheNext_WhetherItRefusesOrIsSilent()
    {
        var source = await SampleMedia.GetAsync(new SampleSpec("testsrc2-360p-40s", 640, 360, 40, "mp4"));
        await using var bed = await FleetBed.StartAsync(steeringReplicas: 2);
        var title = await bed.PublishAsync(source);
        var first = bed.SteeringInstance("steering-2").BaseUrl;
        var second = bed.SteeringUrl;

        // Both alive: the first address answers.
        var healthy = await StartAsync(bed, title, first, second);
        Assert.Equal(first, healthy.GetProperty("steeringUrl").GetString());

        // Refused: the replica's process is killed, its host still answers with a reset.
        await bed.SteeringInstance("steering-2").KillAsync();
        var refused = await StartAsync(bed, title, first, second);
        Assert.Equal(second, refused.GetProperty("steeringUrl").GetString());
        var attempts = refused.GetProperty("attempts").EnumerateArray().ToList();
        Assert.Equal([first, second], attempts.Select(a => a.GetProperty("url").GetString()));
        Assert.True(attempts[0].TryGetProperty("error", out _), $"the refused address has no error: {refused}");
        Assert.True(attempts[1].GetProperty("at").GetInt32() < HedgeMs, $"the next address was not asked at once after the refusal: {refused}");

        // Silent: the client's frames for the replica's address go to a MAC no host has, so a
        // connection is neither accepted nor refused (curl's connect times out rather than failing).
        var address = bed.Host("steering-2").Ipv4;
        var neigh = await bed.ExecAsync("ca", ["ip", "neigh", "replace", address, "lladdr", NowhereMac, "dev", "eth0", "nud", "permanent"], TimeSpan.FromSeconds(10));
        Assert.True(neigh.ExitCode == 0, neigh.StandardError);
        var probe = await bed.ExecAsync("ca", ["curl", "-sS", "-o", "/dev/null", "--connect-timeout", "2", first + "/healthz"], TimeSpan.FromSeconds(20));
        Assert.True(probe.ExitCode == 28, $"the address is not silent: curl exit {probe.ExitCode} {probe.StandardError}");

        var silent = await StartAsync(bed, title, first, second);
        Assert.Equal(second, silent.GetProperty("steeringUrl").GetString());
        attempts = [.. silent.GetProperty("attempts").EnumerateArray()];
        Assert.Equal([first, second], attempts.Select(a => a.GetProperty("url").GetString()));
        Assert.False(attempts[0].TryGetProperty("error", out _), $"the silent address failed rather than staying silent: {silent}");
        Assert.True(attempts[0].GetProperty("hedged").GetBoolean());
        // Asked beside it once the hedge ran out (a millisecond of rounding aside), not earlier.
        Assert.True(attempts[1].GetProperty("at").GetInt32() >= HedgeMs - 1, $"the next address was asked before the hedge: {silent}");
    }

    /// <summary>One start from client <c>ca</c> through <paramref name="steering"/>; asserts it played and that <c>/play</c> was answered within the bound.</summary>
    private async Task<JsonElement> StartAsync(FleetBed bed, string title, params string[] steering)
    {
        var script = Path.Combine(FleetBed.RepositoryRoot, "tests", "node", "play-steering-failover.js");
        string[] command = ["node", script, "--title", title, "--hedge-ms", HedgeMs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--play-seconds", "1", "--timeout-seconds", "60", .. steering.SelectMany(s => (string[])["--steering", s])];
        var run = await bed.ExecAsync("ca", command, TimeSpan.FromSeconds(120));
        var line = run.StandardOutput.Split('\n').LastOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"no RESULT from the player (exit {run.ExitCode}): {run.StandardOutput}\n{run.StandardError}");
        var result = JsonDocument.Parse(line["RESULT ".Length..]).RootElement.Clone();
        output.WriteLine(result.ToString());
        Assert.True(result.GetProperty("ok").GetBoolean(), $"the start failed: {result}");
        var asked = TimeSpan.FromMilliseconds(result.GetProperty("askMs").GetInt32());
        Assert.True(asked <= TimeSpan.FromMilliseconds(HedgeMs) + AnswerAllowance, $"/play took {asked.TotalMilliseconds} ms: {result}");
        return result;
    }
}
