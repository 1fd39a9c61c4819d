using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace OpenConnect.Testing;

/// <summary>
/// A role as a real separate process on a free loopback port, with its management listener on
/// another, started once <c>/healthz</c> answers 200 there, so a test can kill it with SIGKILL (no shutdown hooks, children included) or stop it with
/// SIGTERM.
/// </summary>
public sealed class RoleProcess : IAsyncDisposable
{
    private readonly Process _process;

    private RoleProcess(Process process, Uri baseAddress, Uri managementAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        ManagementAddress = managementAddress;
    }

    public Uri BaseAddress { get; }

    /// <summary>The management listener (<c>/healthz</c>, <c>/metrics</c>).</summary>
    public Uri ManagementAddress { get; }

    public int Pid => _process.Id;

    /// <param name="name">The role's name, for error messages.</param>
    /// <param name="dll">The role's entry assembly.</param>
    /// <param name="prefix">Run under this command (e.g. strace), or null.</param>
    /// <param name="settings">Command-line settings after <c>--urls</c> and <c>--Management:Url</c>.</param>
    public static async Task<RoleProcess> StartAsync(string name, string dll, string[]? prefix, params string[] settings)
    {
        var port = FreePort();
        var managementPort = FreePort();
        var startInfo = new ProcessStartInfo(prefix?[0] ?? "dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in (prefix?.Skip(1) ?? []).Concat(prefix is null ? [] : ["dotnet"]).Concat([dll, "--urls", $"http://127.0.0.1:{port}", $"--Management:Url=http://127.0.0.1:{managementPort}"]).Concat(settings))
        {
            startInfo.ArgumentList.Add(arg);
        }

        var process = Process.Start(startInfo)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var baseAddress = new Uri($"http://127.0.0.1:{port}");
        var managementAddress = new Uri($"http://127.0.0.1:{managementPort}");
        using var client = new HttpClient { BaseAddress = managementAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{name} exited with code {process.ExitCode} during start");
            }

            try
            {
                if ((await client.GetAsync("/healthz")).StatusCode == HttpStatusCode.OK)
                {
                    return new RoleProcess(process, baseAddress, managementAddress);
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{name} did not answer /healthz within 60 s");
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

    /// <summary>SIGKILL to the process and its children: no shutdown hooks, no final flush.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM and wait (at most 30 s) for a clean exit; returns the exit code.</summary>
    public async Task<int> StopAsync()
    {
        using (var kill = Process.Start("kill", $"-TERM {_process.Id}")!)
        {
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync();
        }

        _process.Dispose();
    }
}
