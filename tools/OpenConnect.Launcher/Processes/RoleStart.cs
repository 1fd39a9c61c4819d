using OpenConnect.Launcher.Layout;

namespace OpenConnect.Launcher.Processes;

/// <summary>How to start one role: its release binary, settings, host and log file.</summary>
/// <param name="Name">The role's name in messages and log files (<c>steering</c>, <c>a1</c>).</param>
/// <param name="Host">Where it runs: on the bed, inside the host's namespace.</param>
/// <param name="Dll">The role's entry assembly (its Release build).</param>
/// <param name="Settings">Command-line settings after the assembly.</param>
/// <param name="LogFile">Standard output and error, appended.</param>
/// <param name="BaseUrl">Its data URL, for callers.</param>
/// <param name="ManagementUrl">Its management listener (<c>/healthz</c>), as reached from its host.</param>
public sealed record RoleStart(string Name, FleetHost Host, string Dll, IReadOnlyList<string> Settings, string LogFile, string BaseUrl, string ManagementUrl)
{
    /// <summary>A command the role runs under, e.g. <c>taskset -c 0</c> (inside the namespace on the bed).</summary>
    public IReadOnlyList<string> Prefix { get; init; } = [];

    /// <summary>The process whose exit takes the role down too (its watchdog's owner): by default this one.</summary>
    public int OwnerPid { get; init; } = Environment.ProcessId;

    /// <summary>The entry assembly of a role project (<c>origin/OpenConnect.Origin</c>) in its Release output under <paramref name="root"/>.</summary>
    public static string ReleaseDll(string root, string project) =>
        Path.Combine(root, project, "bin", "Release", "net10.0", Path.GetFileName(project) + ".dll");
}
