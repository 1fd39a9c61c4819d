using System.Globalization;

namespace OpenConnect.Bench.Throughput;

/// <summary>Resident memory of a process from <c>/proc/PID/status</c>, in KiB: all of it, anonymous and file-backed.</summary>
public sealed record ProcessMemory(long VmRssKb, long RssAnonKb, long RssFileKb)
{
    public static ProcessMemory Read(int pid) => Parse(File.ReadAllText($"/proc/{pid}/status"));

    /// <summary>Parses the <c>VmRSS</c>, <c>RssAnon</c> and <c>RssFile</c> lines (values in kB); a missing line is a <see cref="FormatException"/>.</summary>
    public static ProcessMemory Parse(string status)
    {
        long? rss = null, anon = null, file = null;
        foreach (var line in status.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                continue;
            }

            var key = line[..colon];
            if (key is not ("VmRSS" or "RssAnon" or "RssFile"))
            {
                continue;
            }

            var value = line[(colon + 1)..].Trim();
            if (!value.EndsWith(" kB", StringComparison.Ordinal) || !long.TryParse(value[..^3].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var kb))
            {
                throw new FormatException($"/proc status line '{line.Trim()}' is not '<name>: <n> kB'");
            }

            switch (key)
            {
                case "VmRSS":
                    rss = kb;
                    break;
                case "RssAnon":
                    anon = kb;
                    break;
                default:
                    file = kb;
                    break;
            }
        }

        return rss is { } r && anon is { } a && file is { } f
            ? new ProcessMemory(r, a, f)
            : throw new FormatException("/proc status has no VmRSS, RssAnon and RssFile lines (a process that exited?)");
    }

    /// <summary>
    /// Memory per connection in KiB: (RSS with <paramref name="connections"/> open − RSS with none) / connections.
    /// Negative when the process gave memory back meanwhile; NaN without connections.
    /// </summary>
    public static double PerConnectionKb(long withConnectionsKb, long withoutKb, int connections) =>
        connections > 0 ? (double)(withConnectionsKb - withoutKb) / connections : double.NaN;
}
