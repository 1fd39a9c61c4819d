using System.Text.Json;

namespace OpenConnect.Testing.Fleet;

/// <summary>One line of an appliance's access log (<c>Appliance:AccessLog:Format=json</c>): who fetched which content path, and the answer.</summary>
public sealed record AccessLogEntry(string Client, string Method, string Path, int Status, long Bytes, string Cache);

/// <summary>Reads the appliances' access logs on the bed (<see cref="FleetLaunch.ApplianceAccessLog"/>).</summary>
public static class FleetAccessLog
{
    /// <summary>
    /// Every line appliance <paramref name="id"/> has written so far. The log is written off the
    /// request path: a line may land a moment after its response, so callers that look for a
    /// request they just made wait for it (<see cref="WaitForAsync"/>).
    /// </summary>
    public static async Task<List<AccessLogEntry>> ReadAsync(FleetBed bed, string id)
    {
        var file = FleetLaunch.ApplianceAccessLog(bed, id);
        if (!File.Exists(file))
        {
            return [];
        }

        string text;
        await using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        using (var reader = new StreamReader(stream))
        {
            text = await reader.ReadToEndAsync();
        }

        var entries = new List<AccessLogEntry>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!line.EndsWith('}'))
            {
                continue; // the writer's last line, not complete yet
            }

            using var json = JsonDocument.Parse(line);
            var e = json.RootElement;
            var client = e.GetProperty("client").GetString() ?? "-";
            entries.Add(new AccessLogEntry(
                client.StartsWith("::ffff:", StringComparison.Ordinal) ? client["::ffff:".Length..] : client,
                e.GetProperty("method").GetString() ?? "",
                e.GetProperty("path").GetString() ?? "",
                e.GetProperty("status").GetInt32(),
                e.GetProperty("bytes").GetInt64(),
                e.GetProperty("cache").GetString() ?? ""));
        }

        return entries;
    }

    /// <summary>Waits (at most 10 s) until appliance <paramref name="id"/>'s log holds a line that <paramref name="match"/> accepts; returns the whole log then.</summary>
    public static Task<List<AccessLogEntry>> WaitForAsync(FleetBed bed, string id, string what, Func<AccessLogEntry, bool> match) =>
        FleetBed.WaitUntilAsync($"{id}'s access log shows {what}", TimeSpan.FromSeconds(10), async () =>
        {
            var entries = await ReadAsync(bed, id);
            return entries.Any(match) ? entries : null;
        });
}
