using System.Globalization;
using OpenConnect.Launcher.Processes;

namespace OpenConnect.Bench.Ttff;

/// <summary>A launched role's CPU time, for the swarm's CPU accounting (the role's process is dotnet itself: taskset and the launcher's wrapper exec).</summary>
internal sealed class RoleCpu(LaunchedRole role)
{
    // The kernel reports process times in USER_HZ, 100 on every Linux architecture .NET runs on.
    private const double UserHz = 100;

    /// <summary>User plus system CPU seconds of the role so far, all threads (<c>/proc/PID/stat</c> utime and stime).</summary>
    public double CpuSeconds()
    {
        var stat = File.ReadAllText($"/proc/{role.Pid}/stat");
        var afterName = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(afterName[11], CultureInfo.InvariantCulture) + long.Parse(afterName[12], CultureInfo.InvariantCulture)) / UserHz;
    }
}
