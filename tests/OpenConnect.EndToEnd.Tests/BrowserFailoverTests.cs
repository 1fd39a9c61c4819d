using System.Diagnostics;
using System.Text.Json;
using OpenConnect.Testing;

namespace OpenConnect.EndToEnd.Tests;

/// <summary>
/// hls.js and dash.js in headless Chromium play a title through steering (Content Steering) from an
/// appliance; the appliance in use is killed mid-play and the player must carry on from the next
/// pathway without a fatal error.
/// </summary>
public sealed class BrowserFailoverTests
{
    [Theory]
    [InlineData("hls", "master.m3u8")]
    [InlineData("dash", "manifest.mpd")]
    public async Task Player_ContinuesFromTheNextPathway_WhenTheApplianceInUseDies(string player, string manifest)
    {
        await using var stack = await SteeredStack.StartAsync(appliances: 2, titleSeconds: 24);
        var url = new Uri(stack.SteeringUrl, $"/play/{SteeredStack.Title}/{manifest}");
        await using var browser = PlayerScript.Start(["--player", player, "--url", url.ToString(), "--mode", "failover", "--play-seconds", "4", "--after-seconds", "6", "--timeout-seconds", "50"]);

        var playing = await browser.ReadAsync("PLAYING", TimeSpan.FromSeconds(60));
        var host = playing.GetProperty("host").GetString();
        var inUse = stack.Appliances.SingleOrDefault(a => a.HostAndPort == host);
        Assert.True(inUse is not null, $"segments came from {host}, not from an appliance ({string.Join(", ", stack.Appliances.Select(a => a.HostAndPort))}): {browser.Transcript}");
        Assert.True(await inUse.ContentRequestsAsync() > 0, "the appliance in use counted no content requests");

        inUse.Kill();
        await browser.SendAsync("GO");
        var result = await browser.ReadAsync("RESULT", TimeSpan.FromSeconds(60));

        Assert.True(result.GetProperty("ok").GetBoolean(), $"playback did not continue after the failure: {result}");
        Assert.Equal(JsonValueKind.Null, result.GetProperty("fatal").ValueKind);
        Assert.True(result.GetProperty("currentTime").GetDouble() >= result.GetProperty("timeAtKill").GetDouble() + 6, result.ToString());
        var hostsAfter = result.GetProperty("hostsAfter").EnumerateArray().Select(h => h.GetString()).ToList();
        Assert.NotEmpty(hostsAfter);
        Assert.DoesNotContain(host, hostsAfter);
        var survivor = stack.Appliances.Single(a => a != inUse);
        var next = stack.Origin.BaseAddress;
        Assert.All(hostsAfter, h => Assert.True(h == survivor.HostAndPort || h == $"{next.Host}:{next.Port}", $"segment host {h} after the failure is neither the other appliance nor the origin"));
    }
}

/// <summary>The node script driving Chromium (<c>tests/node/play-failover.js</c>), talking in lines over stdin/stdout.</summary>
public sealed class PlayerScript : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly SemaphoreSlim _arrived = new(0);

    private PlayerScript(Process process) => _process = process;

    public string Transcript
    {
        get
        {
            lock (_lines)
            {
                return string.Join('\n', _lines);
            }
        }
    }

    public static string NodeDirectory() => Path.Combine(RepositoryPaths.Root, "tests", "node");

    public static PlayerScript Start(IEnumerable<string> args) => Start("play-failover.js", args);

    /// <summary>Starts a script of <c>tests/node</c> with its arguments.</summary>
    public static PlayerScript Start(string scriptFile, IEnumerable<string> args)
    {
        var directory = NodeDirectory();
        var startInfo = new ProcessStartInfo("node")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory,
        };
        startInfo.ArgumentList.Add(Path.Combine(directory, scriptFile));
        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        var script = new PlayerScript(Process.Start(startInfo)!);
        script._process.OutputDataReceived += (_, e) => script.Add(e.Data, stderr: false);
        script._process.ErrorDataReceived += (_, e) => script.Add(e.Data, stderr: true);
        script._process.BeginOutputReadLine();
        script._process.BeginErrorReadLine();
        return script;
    }

    private void Add(string? line, bool stderr)
    {
        if (line is null)
        {
            _arrived.Release();
            return;
        }

        lock (_lines)
        {
            _lines.Add(stderr ? "stderr: " + line : line);
        }

        _arrived.Release();
    }

    /// <summary>Waits for a line <c>{tag} {json}</c> and returns the JSON.</summary>
    public async Task<JsonElement> ReadAsync(string tag, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var prefix = tag + " ";
        while (true)
        {
            lock (_lines)
            {
                var line = _lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
                if (line is not null)
                {
                    return JsonDocument.Parse(line[prefix.Length..]).RootElement.Clone();
                }

                var failure = _lines.FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
                if (failure is not null && tag != "RESULT")
                {
                    throw new InvalidOperationException($"the player gave up before {tag}: {Transcript}");
                }
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || (_process.HasExited && !await _arrived.WaitAsync(TimeSpan.FromMilliseconds(200))))
            {
                throw new TimeoutException($"no {tag} line from the player script: {Transcript}");
            }

            await _arrived.WaitAsync(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
        }
    }

    public async Task SendAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        _process.Dispose();
        _arrived.Dispose();
    }
}
