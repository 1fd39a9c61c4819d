using System.Diagnostics;
using System.Net;
using OpenConnect.Launcher.Layout;
using OpenConnect.Testing;

namespace OpenConnect.EndToEnd.Tests;

/// <summary>The quick start: <c>./run.sh</c> brings up all five roles and Ctrl-C takes them all down.</summary>
public sealed class RunScriptTests
{
    [Fact]
    public async Task RunScript_StartsFiveRoles_PrintsReady_AndLeavesNoProcessOnSigint()
    {
        var root = RepositoryRoot();
        using var state = new TempDirectory("openconnect-run");
        var ports = FreePorts(5);
        using var run = RunScript.Start(root, state, ports, "--no-demo");
        var script = run.Process;
        var output = run.Output;
        var ready = run.Ready;

        try
        {
            await Task.WhenAny(ready, script.WaitForExitAsync(), Task.Delay(TimeSpan.FromMinutes(4)));
            Assert.True(ready.IsCompleted, "run.sh did not print READY:\n" + string.Join('\n', output));

            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            foreach (var port in ports)
            {
                // run.sh puts each role's management listener on its port + 1000.
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"http://127.0.0.1:{port + 1000}/healthz")).StatusCode);
                var metrics = PrometheusText.Parse(await client.GetStringAsync($"http://127.0.0.1:{port + 1000}/metrics"));
                Assert.True(metrics.IsValid, string.Join('\n', metrics.Errors));
            }

            var roles = ports.Select(p => RolePidsListeningOn(p)).ToList();
            Assert.All(roles, pids => Assert.NotEmpty(pids));

            // Ctrl-C: SIGINT to the script.
            Assert.Equal(0, SendSignal(script.Id, "INT"));
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await script.WaitForExitAsync(deadline.Token);
            Assert.Contains("stopped", output);
            foreach (var pid in roles.SelectMany(p => p))
            {
                Assert.False(Directory.Exists($"/proc/{pid}"), $"role process {pid} is still running after Ctrl-C");
            }

            foreach (var port in ports)
            {
                await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync($"http://127.0.0.1:{port + 1000}/healthz"));
            }
        }
        finally
        {
            if (!script.HasExited)
            {
                script.Kill(entireProcessTree: true);
            }
        }
    }

    /// <summary>
    /// The demo: <c>./run.sh FILE</c> uploads the file through TUS as the demo uploader, waits for the
    /// pipeline, pushes the title to the appliances through the fill controller, and prints a watch
    /// URL whose page is served and whose title plays through steering from an appliance that holds
    /// it already (the browser side of that is <see cref="WebAppTests"/>).
    /// </summary>
    [Fact]
    public async Task RunScript_IngestsTheGivenFile_AndPrintsAWatchUrl_WhoseTitlePlaysFromAnAppliance()
    {
        var root = RepositoryRoot();
        var video = await SampleMedia.GetAsync(SampleMedia.Mp4Small);
        using var state = new TempDirectory("openconnect-run-demo");
        var ports = FreePorts(5);
        using var run = RunScript.Start(root, state, ports, video);
        var script = run.Process;
        var output = run.Output;
        var ready = run.Ready;
        try
        {
            await Task.WhenAny(ready, script.WaitForExitAsync(), Task.Delay(TimeSpan.FromMinutes(5)));
            string transcript;
            lock (output)
            {
                transcript = string.Join('\n', output);
            }

            Assert.True(ready.IsCompleted, "run.sh did not print READY:\n" + transcript);
            var watch = output.Select(l => l.StartsWith("watch: ", StringComparison.Ordinal) ? l[7..] : null).Single(l => l is not null)!;
            Assert.StartsWith($"http://127.0.0.1:{ports[0]}/watch/", watch);
            var titleId = watch[(watch.LastIndexOf('/') + 1)..];

            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            using (var page = await client.GetAsync(watch))
            {
                Assert.Equal(HttpStatusCode.OK, page.StatusCode);
                Assert.Contains("/app/assets/app-", await page.Content.ReadAsStringAsync());
            }

            // The title was uploaded by the demo uploader and is published in the catalog.
            using var title = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync($"http://127.0.0.1:{ports[0]}/api/v1/titles/{titleId}"));
            Assert.Equal("published", title.RootElement.GetProperty("status").GetString());

            // Steering sends a player of this title to an appliance first, and that appliance serves it.
            using var play = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync($"http://127.0.0.1:{ports[1]}/play/{titleId}"));
            var best = play.RootElement.GetProperty("hls").GetProperty("pathways")[0];
            Assert.False(string.IsNullOrEmpty(best.GetProperty("applianceId").GetString()), play.RootElement.ToString());
            var master = best.GetProperty("url").GetString()!;
            Assert.Contains(new Uri(master).Port, new[] { ports[3], ports[4] });
            var playlist = await client.GetStringAsync(master);
            var variant = playlist.Split('\n').First(l => l.Length > 0 && !l.StartsWith('#'));
            var media = await client.GetStringAsync(new Uri(new Uri(master), variant));
            var segment = media.Split('\n').First(l => l.EndsWith(".m4s", StringComparison.Ordinal));
            using var bytes = await client.GetAsync(new Uri(new Uri(new Uri(master), variant), segment));
            Assert.Equal(HttpStatusCode.OK, bytes.StatusCode);
            Assert.True((await bytes.Content.ReadAsByteArrayAsync()).Length > 1000);

            // The title was pushed before the first viewer: run.sh waited until the fill controller
            // reported it live, and the appliance steering chose served the playlists and the segment
            // from what fill pinned, without one fetch from its parents.
            Assert.Contains(output, l => l.StartsWith("pushed to the appliances: appliance-", StringComparison.Ordinal));
            var applianceManagement = new UriBuilder(new Uri(master)) { Path = "/metrics" };
            applianceManagement.Port += 1000;
            var metrics = PrometheusText.Parse(await client.GetStringAsync(applianceManagement.Uri));
            Assert.True(metrics.Value("openconnect_appliance_fill_pinned_objects") > 0, "nothing pinned on the appliance steering chose");
            Assert.Equal(0, metrics.Value("openconnect_appliance_upstream_fetches_total") ?? 0);
        }
        finally
        {
            if (!script.HasExited)
            {
                SendSignal(script.Id, "TERM");
                if (!script.WaitForExit(30_000))
                {
                    script.Kill(entireProcessTree: true);
                }
            }
        }
    }

    private static int SendSignal(int pid, string signal)
    {
        using var kill = Process.Start("kill", $"-{signal} {pid}")!;
        kill.WaitForExit();
        return kill.ExitCode;
    }

    /// <summary>PIDs of processes whose command line names the port (the roles get <c>--urls http://127.0.0.1:PORT</c>).</summary>
    private static List<int> RolePidsListeningOn(int port)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmdline.Contains("OpenConnect.", StringComparison.Ordinal) && cmdline.Contains($"http://127.0.0.1:{port} ", StringComparison.Ordinal))
                {
                    pids.Add(pid);
                }
            }
            catch (IOException)
            {
            }
        }

        return pids;
    }

    /// <summary>
    /// Ports for run.sh's roles, below the kernel's ephemeral range (32768 and up) so that other
    /// tests' outgoing connections cannot take them, each with the ports run.sh derives from it
    /// (+43 parent, +80/+81 control and enrollment, +1000 management) free when picked.
    /// </summary>
    private static int[] FreePorts(int count) => LoopbackPorts.Pick(count);

    private static string RepositoryRoot() => RepositoryPaths.Root;
}

/// <summary>./run.sh as a child process with its output lines collected and READY signalled.</summary>
internal sealed class RunScript : IDisposable
{
    private RunScript(Process process) => Process = process;

    public Process Process { get; }

    public List<string> Output { get; } = [];

    public TaskCompletionSource ReadySource { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Ready => ReadySource.Task;

    public static RunScript Start(string root, TempDirectory state, int[] ports, params string[] extra)
    {
        // As from a terminal, where Ctrl-C reaches run.sh: a test host started in the background by a
        // non-interactive shell (nohup … &) inherits SIGINT ignored, and bash cannot trap a signal
        // ignored on entry, so the disposition is reset here rather than inherited.
        var startInfo = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = root };
        string[] args =
        [
            "--default-signal=INT,QUIT", "bash",
            Path.Combine(root, "run.sh"), "--state-dir", state.Path,
            "--origin-port", ports[0].ToString(), "--steering-port", ports[1].ToString(), "--fill-port", ports[2].ToString(),
            "--appliance-ports", $"{ports[3]},{ports[4]}", .. extra,
        ];
        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        // Tests built in Release share the binaries run.sh uses: do not rebuild under a running test host.
        if (AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
        {
            startInfo.ArgumentList.Add("--no-build");
        }

        var run = new RunScript(Process.Start(startInfo)!);
        run.Process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (run.Output)
            {
                run.Output.Add(e.Data);
            }

            if (e.Data == "READY")
            {
                run.ReadySource.TrySetResult();
            }
        };
        run.Process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (run.Output) { run.Output.Add("stderr: " + e.Data); } } };
        run.Process.BeginOutputReadLine();
        run.Process.BeginErrorReadLine();
        return run;
    }

    public void Dispose() => Process.Dispose();
}
