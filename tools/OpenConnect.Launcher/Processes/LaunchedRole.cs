using System.Diagnostics;
using System.Globalization;
using OpenConnect.Launcher.Layout;

namespace OpenConnect.Launcher.Processes;

/// <summary>
/// A role's release binary running as a child process, in its own session and process group
/// (<c>setsid</c>), with standard output and error appended to its log file. The process is the role
/// itself (<c>sh</c>, <c>setsid</c> and <c>ip netns exec</c> exec), so a kill is a kill of the role.
/// A watchdog beside it takes the role's process group down (SIGTERM, then SIGKILL) once the owner
/// process is gone, so a role never outlives a launcher or test run killed with SIGKILL.
/// </summary>
public sealed class LaunchedRole : IAsyncDisposable
{
    /// <summary>How long a stopped role gets to exit after SIGTERM before SIGKILL.</summary>
    public static readonly TimeSpan StopBound = TimeSpan.FromSeconds(15);

    // sh OWNER LOG WATCHDOG COMMAND...: forks the watchdog (its command line names only the two
    // process ids), then becomes the role in a new session with its output in the log.
    private const string Wrapper =
        """
        owner=$1 log=$2 watchdog=$3; shift 3
        ( exec sh -c "$watchdog" openconnect-watchdog "$owner" "$$" ) </dev/null >/dev/null 2>&1 &
        exec setsid "$@" >>"$log" 2>&1 </dev/null
        """;

    // sh -c WATCHDOG openconnect-watchdog OWNER ROLE: a process is the same one while its start time
    // (/proc/PID/stat field 22) is, so a reused process id is never mistaken for the owner or the role.
    private const string Watchdog =
        """
        started() { s=; { read -r l <"/proc/$1/stat"; } 2>/dev/null || return 0; set -- ${l##*) }; shift 19; s=$1; }
        started "$2"; role=$s; [ -n "$role" ] || exit 0
        started "$1"; owner=$s
        while [ -n "$owner" ]; do
          started "$2"; [ "$s" = "$role" ] || exit 0
          started "$1"; [ "$s" = "$owner" ] || break
          sleep 1
        done
        started "$2"; [ "$s" = "$role" ] || exit 0
        kill -TERM -- "-$2" 2>/dev/null || kill -TERM "$2" 2>/dev/null
        n=0
        while [ "$n" -lt 15 ]; do started "$2"; [ "$s" = "$role" ] || exit 0; sleep 1; n=$((n + 1)); done
        kill -KILL -- "-$2" 2>/dev/null || kill -KILL "$2" 2>/dev/null
        """;

    private readonly Process _process;
    private bool _disposed;

    private LaunchedRole(RoleStart start, Process process)
    {
        Name = start.Name;
        Host = start.Host;
        BaseUrl = start.BaseUrl;
        ManagementUrl = start.ManagementUrl;
        LogFile = start.LogFile;
        _process = process;
    }

    public string Name { get; }

    public FleetHost Host { get; }

    /// <summary>The role's data URL.</summary>
    public string BaseUrl { get; }

    /// <summary>The role's management listener (<c>/healthz</c>, <c>/metrics</c>), as reached from its host.</summary>
    public string ManagementUrl { get; }

    public string LogFile { get; }

    public int Pid => _process.Id;

    public bool Running => !_disposed && !_process.HasExited;

    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    public static LaunchedRole Start(RoleStart start)
    {
        if (!File.Exists(start.Dll))
        {
            throw new LaunchException($"{start.Dll} is missing: build first (dotnet build OpenConnect.sln -c Release)");
        }

        List<string> command = [.. start.Host.Command([.. start.Prefix, "dotnet", start.Dll, .. start.Settings])];
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(start.LogFile))!);
        File.AppendAllText(start.LogFile, string.Create(CultureInfo.InvariantCulture, $"== {DateTime.UtcNow:O} start {start.Name}: {string.Join(' ', command)}\n"));

        var startInfo = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        foreach (var arg in (string[])["-c", Wrapper, "sh", start.OwnerPid.ToString(CultureInfo.InvariantCulture), start.LogFile, Watchdog, .. command])
        {
            startInfo.ArgumentList.Add(arg);
        }

        var process = Process.Start(startInfo) ?? throw new LaunchException($"could not start {start.Name}");
        return new LaunchedRole(start, process);
    }

    /// <summary>The last lines of the role's log, for failure messages.</summary>
    public string Tail(int lines = 20) => LogTail.Read(LogFile, lines);

    /// <summary>SIGKILL to the role and its children: no shutdown hooks, sockets reset by the kernel, heartbeats stop.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync().ConfigureAwait(false);
    }

    /// <summary><see cref="KillAsync"/>, waiting at most <paramref name="wait"/> for the exit.</summary>
    public void Kill(TimeSpan wait)
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(wait);
        }
    }

    /// <summary>SIGTERM and wait (at most <paramref name="bound"/>, <see cref="StopBound"/> by default) for a clean exit; then SIGKILL. Returns the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan? bound = null)
    {
        if (!_process.HasExited)
        {
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync().ConfigureAwait(false);
            }

            using var timeout = new CancellationTokenSource(bound ?? StopBound);
            try
            {
                await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                await KillAsync().ConfigureAwait(false);
            }
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await KillAsync().ConfigureAwait(false);
        _process.Dispose();
    }
}
