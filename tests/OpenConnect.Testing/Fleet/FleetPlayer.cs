using System.Diagnostics;
using System.Text.Json;

namespace OpenConnect.Testing.Fleet;

/// <summary>
/// hls.js in headless Chromium inside a client's namespace (<c>play-fleet.js</c> beside this file),
/// talking in lines: <c>PLAYING {json}</c>, then <c>GO</c> from the test, then <c>RESULT {json}</c>.
/// </summary>
public sealed class FleetPlayer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly SemaphoreSlim _arrived = new(0);

    private FleetPlayer(Process process) => _process = process;

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

    /// <param name="bed">The bed.</param>
    /// <param name="client">The client host (<c>ca</c>, <c>cb</c>).</param>
    /// <param name="url">The master playlist URL (steering's <c>/play/{title}/master.m3u8</c>).</param>
    /// <param name="playSeconds">Media time to reach before <c>PLAYING</c>.</param>
    /// <param name="afterSeconds">Media time to play after <c>GO</c>.</param>
    /// <param name="waitForGo">Whether to wait for <see cref="GoAsync"/> after <c>PLAYING</c>.</param>
    public static FleetPlayer Start(FleetBed bed, string client, string url, double playSeconds, double afterSeconds, bool waitForGo)
    {
        var script = Path.Combine(FleetBed.RepositoryRoot, "tests", "OpenConnect.Testing", "Fleet", "play-fleet.js");
        if (!Directory.Exists(Path.Combine(FleetBed.RepositoryRoot, "tests", "node", "node_modules", "playwright-core")))
        {
            throw new InvalidOperationException("tests/node/node_modules is missing: run (cd tests/node && npm ci) (./test.sh does)");
        }

        var startInfo = new ProcessStartInfo("ip")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        string[] args =
        [
            "netns", "exec", bed.Host(client).Namespace!, "node", script, "--url", url,
            "--play-seconds", Invariant(playSeconds), "--after-seconds", Invariant(afterSeconds), "--timeout-seconds", "90", "--wait-go", waitForGo ? "1" : "0",
        ];
        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        var player = new FleetPlayer(Process.Start(startInfo) ?? throw new InvalidOperationException("could not start node"));
        player._process.OutputDataReceived += (_, e) => player.Add(e.Data, stderr: false);
        player._process.ErrorDataReceived += (_, e) => player.Add(e.Data, stderr: true);
        player._process.BeginOutputReadLine();
        player._process.BeginErrorReadLine();
        return player;
    }

    private static string Invariant(double value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private void Add(string? line, bool stderr)
    {
        if (line is not null)
        {
            lock (_lines)
            {
                _lines.Add(stderr ? "stderr: " + line : line);
            }
        }

        _arrived.Release();
    }

    /// <summary>Waits for a line <c>{tag} {json}</c> and returns the JSON; fails early when the script reports a result first.</summary>
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

                if (tag != "RESULT" && _lines.Any(l => l.StartsWith("RESULT ", StringComparison.Ordinal)))
                {
                    throw new InvalidOperationException($"the player gave up before {tag}: {Transcript}");
                }
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || (_process.HasExited && !await _arrived.WaitAsync(TimeSpan.FromMilliseconds(200))))
            {
                throw new TimeoutException($"no {tag} line from the player: {Transcript}");
            }

            await _arrived.WaitAsync(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
        }
    }

    public async Task GoAsync()
    {
        await _process.StandardInput.WriteLineAsync("GO");
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
