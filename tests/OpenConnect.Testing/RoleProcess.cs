using System.Net;
using System.Net.Sockets;
using OpenConnect.Launcher.Layout;
using OpenConnect.Launcher.Processes;

namespace OpenConnect.Testing;

/// <summary>
/// A role as a real separate process on a free loopback port, with its management listener on
/// another, started once <c>/healthz</c> answers 200 there, so a test can kill it with SIGKILL (no
/// shutdown hooks, children included) or stop it with SIGTERM. Started by the fleet launcher's
/// process code: the role has a watchdog, so it never outlives the test run, even one killed with SIGKILL.
/// </summary>
public sealed class RoleProcess : IAsyncDisposable
{
    private static readonly string LogDirectory = Path.Combine(Path.GetTempPath(), "openconnect-role-logs");
    private readonly LaunchedRole _role;

    private RoleProcess(LaunchedRole role, Uri baseAddress, Uri managementAddress)
    {
        _role = role;
        BaseAddress = baseAddress;
        ManagementAddress = managementAddress;
    }

    public Uri BaseAddress { get; }

    /// <summary>The management listener (<c>/healthz</c>, <c>/metrics</c>).</summary>
    public Uri ManagementAddress { get; }

    public int Pid => _role.Pid;

    public bool Running => _role.Running;

    /// <summary>The last lines the role wrote (standard output and error).</summary>
    public string Tail(int lines = 20) => _role.Tail(lines);

    /// <param name="name">The role's name, for error messages.</param>
    /// <param name="dll">The role's entry assembly.</param>
    /// <param name="prefix">Run under this command (e.g. strace), or null.</param>
    /// <param name="settings">Command-line settings after <c>--urls</c> and <c>--Management:Url</c>.</param>
    public static Task<RoleProcess> StartAsync(string name, string dll, string[]? prefix, params string[] settings) =>
        StartAsync(name, dll, prefix, () => settings);

    /// <summary>
    /// As <see cref="StartAsync(string, string, string[], string[])"/>, with the settings made anew
    /// for each attempt: a free port is only free until someone binds it, and parallel test classes
    /// race for them, so a start that lost one of its ports to another process is retried on new ones.
    /// </summary>
    public static async Task<RoleProcess> StartAsync(string name, string dll, string[]? prefix, Func<string[]> settings)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort();
            var managementPort = FreePort();
            var baseAddress = new Uri($"http://127.0.0.1:{port}");
            var managementAddress = new Uri($"http://127.0.0.1:{managementPort}");
            var role = LaunchedRole.Start(new RoleStart(
                name,
                FleetHost.Loopback,
                dll,
                ["--urls", baseAddress.ToString().TrimEnd('/'), $"--Management:Url={managementAddress.ToString().TrimEnd('/')}", .. settings()],
                Path.Combine(LogDirectory, $"{name}-{Guid.NewGuid():N}.log"),
                baseAddress.ToString(),
                managementAddress.ToString())
            {
                Prefix = prefix ?? [],
            });
            var process = new RoleProcess(role, baseAddress, managementAddress);
            var error = await process.WaitHealthyAsync(name);
            if (error is null)
            {
                return process;
            }

            await process.DisposeAsync();
            if (attempt == 3 || !error.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"{name} did not start: {error}");
            }
        }
    }

    /// <summary>Null once <c>/healthz</c> answers 200; why not when the role exits first (its last lines) or after 60 s.</summary>
    private async Task<string?> WaitHealthyAsync(string name)
    {
        using var client = CreateManagementClient();
        client.Timeout = TimeSpan.FromSeconds(2);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            if (!_role.Running)
            {
                return $"exit code {_role.ExitCode} during start; last lines:\n{_role.Tail()}";
            }

            try
            {
                if ((await client.GetAsync("/healthz")).StatusCode == HttpStatusCode.OK)
                {
                    return null;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{name} did not answer /healthz within 60 s; last lines:\n{_role.Tail()}");
            }

            await Task.Delay(100);
        }
    }

    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>A client for the management listener.</summary>
    public HttpClient CreateManagementClient() => new() { BaseAddress = ManagementAddress, Timeout = TimeSpan.FromSeconds(30) };

    public async Task<PrometheusText.Document> MetricsAsync()
    {
        using var client = CreateManagementClient();
        return PrometheusText.Parse(await client.GetStringAsync("/metrics"));
    }

    /// <summary>
    /// SIGHUP (what <c>systemctl reload</c> sends), then the line that ends the reload in the role's log
    /// (<c>reload applied: …</c> or <c>reload refused: …</c>), waiting at most 30 s. Start the role with
    /// <see cref="DefaultSignals"/> as its prefix: a test runner started in the background may hand
    /// SIGHUP down ignored.
    /// </summary>
    public async Task<string> ReloadAsync()
    {
        static List<string> Outcomes(string log) =>
            [.. File.ReadAllLines(log).Where(l => l.Contains("reload applied:", StringComparison.Ordinal) || l.Contains("reload refused:", StringComparison.Ordinal))];
        var before = Outcomes(_role.LogFile).Count;
        using (var kill = System.Diagnostics.Process.Start("kill", ["-HUP", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var outcomes = Outcomes(_role.LogFile);
            if (outcomes.Count > before)
            {
                return outcomes[before];
            }

            if (DateTime.UtcNow > deadline || !_role.Running)
            {
                throw new TimeoutException($"no reload outcome in the log within 30 s (running: {_role.Running}); last lines:\n{_role.Tail(40)}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>A prefix that starts the role with every signal at its default, as systemd does.</summary>
    public static readonly string[] DefaultSignals = ["env", "--default-signal=HUP,INT,QUIT,TERM"];

    /// <summary>
    /// Starts a role for a reload test, as its unit does: <c>--config</c> <paramref name="config"/>
    /// (which the test rewrites), signals at their defaults, and HTTPS on the data listener with the
    /// certificate and key files the test replaces (<c>Kestrel:Certificates:Default</c>).
    /// </summary>
    /// <returns>The role and its HTTPS data address.</returns>
    public static async Task<(RoleProcess Role, Uri Data)> StartHttpsAsync(string name, string dll, string config, string certificateFile, string keyFile, params string[] settings)
    {
        var port = FreePort();
        var data = new Uri($"https://127.0.0.1:{port}");
        var role = await StartAsync(name, dll, DefaultSignals, () =>
        [
            "--urls", data.ToString().TrimEnd('/'),
            "--config", config,
            $"--Kestrel:Certificates:Default:Path={certificateFile}",
            $"--Kestrel:Certificates:Default:KeyPath={keyFile}",
            .. settings,
        ]);
        return (role, data);
    }

    /// <summary>The role's whole log so far (standard output and error).</summary>
    public string Log => File.ReadAllText(_role.LogFile);

    /// <summary>SIGKILL to the process and its children: no shutdown hooks, no final flush.</summary>
    public Task KillAsync() => _role.KillAsync();

    /// <summary>SIGKILL, waiting at most 10 s for the exit.</summary>
    public void Kill() => _role.Kill(TimeSpan.FromSeconds(10));

    /// <summary>SIGTERM and wait (at most 30 s, then SIGKILL) for a clean exit; returns the exit code.</summary>
    public Task<int> StopAsync() => _role.StopAsync(TimeSpan.FromSeconds(30));

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await _role.DisposeAsync();
        try
        {
            File.Delete(_role.LogFile);
        }
        catch (IOException)
        {
        }
    }
}
