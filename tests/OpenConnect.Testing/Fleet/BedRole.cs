using System.Diagnostics;

namespace OpenConnect.Testing.Fleet;

/// <summary>
/// A role's release binary running inside its host's namespace (<c>ip netns exec NS dotnet DLL …</c>;
/// <c>ip netns exec</c> execs, so the process is dotnet itself and a kill is a kill of the role).
/// Standard output and error go to <c>{state}/logs/{name}.log</c>.
/// </summary>
public sealed class BedRole : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private bool _disposed;

    private BedRole(string name, FleetHost host, string baseUrl, string managementUrl, string logFile, Process process, StreamWriter log)
    {
        Name = name;
        Host = host;
        BaseUrl = baseUrl;
        ManagementUrl = managementUrl;
        LogFile = logFile;
        _process = process;
        _log = log;
    }

    public string Name { get; }

    public FleetHost Host { get; }

    /// <summary>The role's data URL on the bed (its host's IPv4 address).</summary>
    public string BaseUrl { get; }

    /// <summary>The role's management listener (<c>/healthz</c>, <c>/metrics</c>): loopback inside its host's namespace.</summary>
    public string ManagementUrl { get; }

    public string LogFile { get; }

    public bool Running => !_disposed && !_process.HasExited;

    public static BedRole Start(string name, FleetHost host, string dll, string baseUrl, string managementUrl, string logFile, IEnumerable<string> settings)
    {
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"{dll} is missing: build first (dotnet build OpenConnect.sln -c Release)", dll);
        }

        var startInfo = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        string[] all = [.. settings, $"--Management:Url={managementUrl}"];
        foreach (var arg in (string[])["netns", "exec", host.Namespace, "dotnet", dll, .. all])
        {
            startInfo.ArgumentList.Add(arg);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(logFile)!);
        var log = new StreamWriter(logFile, append: true) { AutoFlush = true };
        log.WriteLine($"== {DateTime.UtcNow:O} start {name} in {host.Namespace}: dotnet {dll} {string.Join(' ', all)}");
        var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"could not start {name}");
        var role = new BedRole(name, host, baseUrl, managementUrl, logFile, process, log);
        process.OutputDataReceived += (_, e) => role.Write(e.Data);
        process.ErrorDataReceived += (_, e) => role.Write(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return role;
    }

    private void Write(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.WriteLine(line);
        }
    }

    /// <summary>The last lines of the role's log, for failure messages.</summary>
    public string Tail(int lines = 30)
    {
        lock (_log)
        {
            using var reader = new StreamReader(new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
        }
    }

    /// <summary>SIGKILL: no shutdown hooks, sockets reset by the kernel, heartbeats stop.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM and wait (at most 30 s) for a clean exit; then SIGKILL.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited)
        {
            return;
        }

        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            await KillAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await KillAsync();
        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }
}
