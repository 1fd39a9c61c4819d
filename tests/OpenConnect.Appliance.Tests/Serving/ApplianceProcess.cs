using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using OpenConnect.Testing;

namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>The appliance as a real separate process, so it can be killed with SIGKILL.</summary>
public sealed class ApplianceProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ApplianceProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public int Pid => _process.Id;

    /// <param name="prefix">Run under this command (e.g. strace), or null.</param>
    /// <param name="settings">Command-line settings.</param>
    public static async Task<ApplianceProcess> StartAsync(string[]? prefix, params string[] settings)
    {
        var port = FreePort();
        var dll = typeof(ApplianceHost).Assembly.Location;
        var startInfo = new ProcessStartInfo(prefix?[0] ?? "dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in (prefix?.Skip(1) ?? []).Concat(prefix is null ? [] : ["dotnet"]).Concat([dll, "--urls", $"http://127.0.0.1:{port}", ApplianceHarness.UnsignedLoopback]).Concat(settings))
        {
            startInfo.ArgumentList.Add(arg);
        }

        var process = Process.Start(startInfo)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var baseAddress = new Uri($"http://127.0.0.1:{port}");
        using var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"appliance exited with code {process.ExitCode} during start");
            }

            try
            {
                if ((await client.GetAsync("/healthz")).StatusCode == HttpStatusCode.OK)
                {
                    return new ApplianceProcess(process, baseAddress);
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException("appliance did not answer /healthz within 60 s");
            }

            await Task.Delay(100);
        }
    }

    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    public async Task<PrometheusText.Document> MetricsAsync()
    {
        using var client = CreateClient();
        return PrometheusText.Parse(await client.GetStringAsync("/metrics"));
    }

    /// <summary>SIGKILL: no shutdown hooks, no final checkpoint.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM and wait for a clean exit.</summary>
    public async Task StopAsync()
    {
        using var kill = Process.Start("kill", $"-TERM {_process.Id}")!;
        await kill.WaitForExitAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(timeout.Token);
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
