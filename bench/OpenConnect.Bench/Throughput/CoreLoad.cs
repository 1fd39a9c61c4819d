using System.Globalization;

namespace OpenConnect.Bench.Throughput;

/// <summary>Busy and total jiffies per core from /proc/stat, to show how loaded each core was during a run.</summary>
internal sealed class CoreLoad
{
    private readonly Dictionary<int, (long Busy, long Total)> _cores;

    private CoreLoad(Dictionary<int, (long Busy, long Total)> cores) => _cores = cores;

    public static CoreLoad Read()
    {
        var cores = new Dictionary<int, (long Busy, long Total)>();
        foreach (var line in File.ReadLines("/proc/stat"))
        {
            if (!line.StartsWith("cpu", StringComparison.Ordinal) || line.Length < 4 || !char.IsAsciiDigit(line[3]))
            {
                continue;
            }

            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var values = fields.Skip(1).Take(8).Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            var idle = values[3] + values[4]; // idle + iowait
            cores[int.Parse(fields[0].AsSpan(3), CultureInfo.InvariantCulture)] = (values.Sum() - idle, values.Sum());
        }

        return new CoreLoad(cores);
    }

    /// <summary>Percent of <paramref name="core"/> busy between <paramref name="before"/> and this snapshot (NaN if unknown).</summary>
    public double BusyPercentSince(CoreLoad before, int core)
    {
        if (!_cores.TryGetValue(core, out var now) || !before._cores.TryGetValue(core, out var then) || now.Total == then.Total)
        {
            return double.NaN;
        }

        return 100.0 * (now.Busy - then.Busy) / (now.Total - then.Total);
    }
}
