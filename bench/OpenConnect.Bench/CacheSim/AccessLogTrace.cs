using System.Text.Json;
using OpenConnect.Appliance.Caching;
using OpenConnect.Appliance.Caching.Policy;

namespace OpenConnect.Bench.CacheSim;

/// <summary>
/// A trace from the appliance's access log in its JSON format (<c>Appliance:AccessLog:Format=json</c>: one object
/// per line with time, method, path, status, bytes): the requests real players made, replayable beside the
/// synthetic traces. Kept: GETs of content paths (<c>/v/…</c>) answered 200 or 206. The key is the appliance's
/// own (<see cref="KeyHash"/> of the path), the hint what the appliance reads from the path, the size the
/// largest body sent for the path in a 200 (else the largest sent at all), the time seconds since the first kept line.
/// </summary>
internal static class AccessLogTrace
{
    public static Trace Read(string path, int maxRequests)
    {
        if (!File.Exists(path))
        {
            throw new BenchUsageException($"{path}: no such access log");
        }

        var requests = new List<(DateTimeOffset Time, string Path, long Bytes, bool Whole)>();
        var sizes = new Dictionary<string, (long Size, bool Whole)>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (requests.Count >= maxRequests)
            {
                break;
            }

            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var (time, method, target, status, bytes) = Parse(path, lineNumber, line);
            if (method != "GET" || status is not (200 or 206) || !target.StartsWith("/v/", StringComparison.Ordinal) || bytes <= 0)
            {
                continue;
            }

            var whole = status == 200;
            requests.Add((time, target, bytes, whole));
            if (!sizes.TryGetValue(target, out var known) || (whole && !known.Whole) || (whole == known.Whole && bytes > known.Size))
            {
                sizes[target] = (bytes, whole);
            }
        }

        if (requests.Count == 0)
        {
            throw new BenchUsageException($"{path}: no GET of a /v/ content path answered 200 or 206");
        }

        var start = requests[0].Time;
        foreach (var r in requests)
        {
            start = r.Time < start ? r.Time : start;
        }

        var builder = new TraceBuilder(requests.Count);
        foreach (var r in requests)
        {
            var seconds = (uint)Math.Max(0, (r.Time - start).TotalSeconds);
            builder.Add(seconds, KeyHash.Of(r.Path), sizes[r.Path].Size, ContentHint.FromPath(r.Path));
        }

        return builder.Build("access:" + Path.GetFileName(path));
    }

    private static (DateTimeOffset Time, string Method, string Path, int Status, long Bytes) Parse(string file, int lineNumber, string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            return (
                root.GetProperty("time").GetDateTimeOffset(),
                root.GetProperty("method").GetString() ?? "",
                root.GetProperty("path").GetString() ?? "",
                root.GetProperty("status").GetInt32(),
                root.GetProperty("bytes").GetInt64());
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new BenchUsageException($"{file}:{lineNumber}: not a JSON access log line (time, method, path, status, bytes): {ex.Message}");
        }
    }
}
