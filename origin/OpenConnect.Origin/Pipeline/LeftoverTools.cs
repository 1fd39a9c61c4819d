using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;

namespace OpenConnect.Origin.Pipeline;

/// <summary>
/// ffmpeg and ffprobe processes that a killed origin left running. The kernel does not stop a child
/// when its parent dies and the media tool sandbox starts the tools without a parent-death signal,
/// so after a crash they keep encoding into work directories the resumed title no longer uses. On start,
/// before it resumes anything, the pipeline worker kills every such tool still working inside this
/// origin's work directory (its working directory or an argument lies there) that is not its own
/// child. Linux only (it reads <c>/proc</c>); elsewhere nothing is done.
/// </summary>
internal static class LeftoverTools
{
    private static readonly string[] Tools = ["ffmpeg", "ffprobe"];

    /// <summary>Kills the leftover tools working under <paramref name="workRoot"/>; returns their process ids.</summary>
    public static IReadOnlyList<int> Kill(string workRoot)
    {
        if (!OperatingSystem.IsLinux() || !Directory.Exists("/proc"))
        {
            return [];
        }

        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(workRoot)) + "/";
        var self = Environment.ProcessId;
        var killed = new List<int>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == self)
            {
                continue;
            }

            try
            {
                var argv = File.ReadAllText(Path.Combine(entry, "cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries);
                if (argv.Length == 0 || !Tools.Contains(Path.GetFileName(argv[0]), StringComparer.Ordinal))
                {
                    continue;
                }

                var cwd = new DirectoryInfo(Path.Combine(entry, "cwd")).LinkTarget ?? "";
                var inside = (cwd + "/").StartsWith(root, StringComparison.Ordinal) || argv.Any(a => a.Contains(root, StringComparison.Ordinal));
                // A tool under a live origin process (this one, or a worker sharing the data directory;
                // the sandbox may sit between them) is that process's current work, not a leftover.
                var parent = ParentOf(entry);
                if (!inside || parent == self || HasOriginAncestor(parent))
                {
                    continue;
                }

                using var process = Process.GetProcessById(pid);
                process.Kill();
                killed.Add(pid);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException or Win32Exception)
            {
                // The process ended meanwhile, or is not ours to inspect or stop.
            }
        }

        return killed;
    }

    /// <summary>The parent process id from <c>/proc/{pid}/stat</c> (the field after the state, past the command in parentheses).</summary>
    /// <summary>Whether <paramref name="pid"/> is an origin or worker process, or runs under one (Linux; false elsewhere or when it is gone).</summary>
    public static bool HasOriginAncestor(int pid)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        for (var depth = 0; depth < 4 && pid > 1; depth++)
        {
            try
            {
                var entry = $"/proc/{pid.ToString(CultureInfo.InvariantCulture)}";
                var argv = File.ReadAllText(Path.Combine(entry, "cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries);
                if (argv.Any(a => Path.GetFileName(a) is "OpenConnect.Origin" or "OpenConnect.Origin.dll" or "openconnect-origin"))
                {
                    return true;
                }

                pid = ParentOf(entry);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
            {
                return false;
            }
        }

        return false;
    }

    private static int ParentOf(string procEntry)
    {
        var stat = File.ReadAllText(Path.Combine(procEntry, "stat"));
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture);
    }
}
