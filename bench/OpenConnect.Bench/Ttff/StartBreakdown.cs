using System.Globalization;
using System.Text;
using System.Text.Json;

namespace OpenConnect.Bench.Ttff;

/// <summary>One request of a start, from the browser's Resource Timing: ms from setting the source.</summary>
internal sealed record StartRequest(string Name, double Start, double End);

/// <summary>One player or media element event of a start (manifest loaded, segment appended, first frame): ms from setting the source.</summary>
internal sealed record StartEvent(string Name, double At);

/// <summary>One start as the player script reports it: its time to first frame, requests and events.</summary>
internal sealed record StartSample(double TtffMs, IReadOnlyList<StartRequest> Requests, IReadOnlyList<StartEvent> Events)
{
    /// <summary>Reads one element of the script's <c>starts</c> array.</summary>
    public static StartSample FromJson(JsonElement start) => new(
        start.GetProperty("ttffMs").GetDouble(),
        [.. start.GetProperty("resources").EnumerateArray().Select(r => new StartRequest(r.GetProperty("name").GetString() ?? "", r.GetProperty("start").GetDouble(), r.GetProperty("end").GetDouble()))],
        [.. start.GetProperty("events").EnumerateArray().Select(e => new StartEvent(e.GetProperty("name").GetString() ?? "", e.GetProperty("at").GetDouble()))]);
}

/// <summary>
/// Where the time of a side's starts went: for each request (by name) and each event seen in at least
/// half of the starts, the median start and end, in order of start. Requests that begin when an earlier
/// one ends are in series; the gap between the last segment request's end and the first frame is the
/// media pipeline (SourceBuffer append, decode, first paint).
/// </summary>
internal static class StartBreakdown
{
    /// <summary>The median waterfall: (name, median start, median end, how many starts had it), by median start.</summary>
    public static IReadOnlyList<(string Name, double Start, double End, int Count)> Waterfall(IReadOnlyList<StartSample> starts)
    {
        var rows = new List<(string Name, double Start, double End, int Count)>();
        var requests = starts.SelectMany(s => FirstOfEach(s.Requests.Select(r => (r.Name, r.Start, r.End)))).GroupBy(r => r.Name, StringComparer.Ordinal);
        var events = starts.SelectMany(s => FirstOfEach(s.Events.Select(e => (e.Name, e.At, e.At)))).GroupBy(e => e.Name, StringComparer.Ordinal);
        foreach (var group in requests.Concat(events))
        {
            var count = group.Count();
            if (count * 2 < starts.Count)
            {
                continue;
            }

            rows.Add((group.Key, Median([.. group.Select(g => g.Start)]), Median([.. group.Select(g => g.End)]), count));
        }

        return [.. rows.OrderBy(r => r.Start).ThenBy(r => r.End)];
    }

    /// <summary>The waterfall as text: one line per request (a bar from start to end) or event (a mark), 10 ms per character.</summary>
    public static string Render(string heading, IReadOnlyList<StartSample> starts)
    {
        var sb = new StringBuilder();
        sb.Append(heading).Append(": median of ").Append(starts.Count.ToString(CultureInfo.InvariantCulture)).Append(" starts (ms from setting the source; requests from Resource Timing, [event] from the player)\n");
        foreach (var (name, start, end, _) in Waterfall(starts))
        {
            var isEvent = start == end && !starts.Any(s => s.Requests.Any(r => r.Name == name));
            var label = isEvent ? $"[{name}]" : name;
            var bar = new string(' ', Math.Clamp((int)(start / 10), 0, 100)) + (isEvent ? "|" : new string('=', Math.Clamp((int)((end - start) / 10), 1, 100)));
            sb.Append(CultureInfo.InvariantCulture, $"  {label,-34} {start,7:F0} {end,7:F0}  {bar}\n");
        }

        return sb.ToString();
    }

    /// <summary>Median of a side's values, 0 for none.</summary>
    public static double Median(IReadOnlyList<double> values) => values.Count == 0 ? 0 : TtffScenario.Percentile(values, 50);

    // A name seen twice in one start (a retry, a second request for the same file) counts once: its first time.
    private static IEnumerable<(string Name, double Start, double End)> FirstOfEach(IEnumerable<(string Name, double Start, double End)> items) =>
        items.GroupBy(i => i.Name, StringComparer.Ordinal).Select(g => g.MinBy(i => i.Start));
}
