using System.Globalization;
using System.Text.Json;

namespace OpenConnect.Bench.Players;

/// <summary>What a recorded trace holds: the figures <c>cache-sim</c> sizes its caches by.</summary>
/// <param name="Lines">Access log lines merged (players' requests; peer pulls left out).</param>
/// <param name="Requests">GETs of content paths (<c>/v/…</c>) answered 200 or 206: what <c>cache-sim --trace access:PATH</c> replays.</param>
/// <param name="Titles">Distinct titles among them.</param>
/// <param name="Objects">Distinct content paths.</param>
/// <param name="UniqueBytes">The largest body sent per distinct path, summed (the trace's working set).</param>
/// <param name="RequestedBytes">Body bytes of every replayed request.</param>
/// <param name="Seconds">From the first to the last merged line.</param>
internal sealed record TraceShape(long Lines, long Requests, int Titles, int Objects, long UniqueBytes, long RequestedBytes, double Seconds)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Lines:N0} lines, {Requests:N0} content requests over {Seconds:F0} s, {Titles} titles, {Objects:N0} objects, {UniqueBytes / 1e6:F1} MB unique, {RequestedBytes / 1e6:F1} MB requested");
}

/// <summary>
/// The swarm's trace for <c>cache-sim</c>: each appliance writes its own JSON access log
/// (<c>PATH.&lt;appliance&gt;</c>), and after the run they are merged into PATH in time order (a
/// stable merge: lines of one appliance keep their order on equal times), leaving out the pulls one
/// appliance made from another as its parent (lines that name a <c>caller</c>): they are a
/// cache's misses, not viewers' requests. The merged file is the site's demand as if one cache served it, the question <c>cache-sim</c> asks at 1–10 % of the
/// unique bytes; the per-appliance logs are kept beside it because each is exactly what one real cache saw.
/// </summary>
internal static class RecordedTrace
{
    /// <summary>The appliance settings that turn its JSON access log on at <c>PATH.&lt;appliance&gt;</c>; an old file there is removed (the log appends).</summary>
    public static IEnumerable<string> ApplianceSettings(string path, string appliance)
    {
        var log = LogPath(path, appliance);
        File.Delete(log);
        return [$"--Appliance:AccessLog:Path={Path.GetFullPath(log)}", "--Appliance:AccessLog:Format=json"];
    }

    public static string LogPath(string path, string appliance) => $"{path}.{appliance}";

    /// <summary>Merges the logs' player requests into <paramref name="path"/> by their <c>time</c> field; a log that is missing counts as empty, a line that is not a JSON access log line is an error.</summary>
    public static TraceShape Merge(string path, IReadOnlyList<string> logs)
    {
        var lines = new List<(DateTimeOffset Time, int Log, int Order, string Line)>();
        for (var l = 0; l < logs.Count; l++)
        {
            if (!File.Exists(logs[l]))
            {
                continue;
            }

            var order = 0;
            foreach (var line in File.ReadLines(logs[l]))
            {
                order++;
                if (!string.IsNullOrWhiteSpace(line) && PlayerRequest(logs[l], order, line) is { } time)
                {
                    lines.Add((time, l, order, line));
                }
            }
        }

        lines.Sort((a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : a.Log != b.Log ? a.Log.CompareTo(b.Log) : a.Order.CompareTo(b.Order));
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        File.WriteAllLines(path, lines.Select(l => l.Line));
        return Shape(lines.Select(l => l.Line), lines.Count == 0 ? 0 : (lines[^1].Time - lines[0].Time).TotalSeconds);
    }

    private static TraceShape Shape(IEnumerable<string> lines, double seconds)
    {
        long count = 0, requests = 0, requested = 0;
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        var titles = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            count++;
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            var target = root.GetProperty("path").GetString() ?? "";
            var bytes = root.GetProperty("bytes").GetInt64();
            if (root.GetProperty("method").GetString() != "GET" || root.GetProperty("status").GetInt32() is not (200 or 206) || !target.StartsWith("/v/", StringComparison.Ordinal) || bytes <= 0)
            {
                continue;
            }

            requests++;
            requested += bytes;
            sizes[target] = Math.Max(bytes, sizes.GetValueOrDefault(target));
            var slash = target.IndexOf('/', 3);
            titles.Add(slash < 0 ? target[3..] : target[3..slash]);
        }

        return new TraceShape(count, requests, titles.Count, sizes.Count, sizes.Values.Sum(), requested, seconds);
    }

    /// <summary>The line's time, or null when a peer appliance made the request (a parent pull names its <c>caller</c>).</summary>
    private static DateTimeOffset? PlayerRequest(string file, int lineNumber, string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            var time = root.GetProperty("time").GetDateTimeOffset();
            return root.TryGetProperty("caller", out var caller) && caller.ValueKind == JsonValueKind.String ? null : time;
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new BenchUsageException($"{file}:{lineNumber}: not a JSON access log line: {ex.Message}");
        }
    }
}
