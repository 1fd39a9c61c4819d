using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using OpenConnect.Bench.Players;

namespace OpenConnect.Bench.Fleet;

/// <summary>
/// What the players of one client host (or of several, added up) did. A session either started
/// (reached a first frame), failed to start (an error before the first frame) or was cut off by the
/// end of the run before its first frame: <c>Sessions == Started + FailedStarts + CutOff</c>.
/// <see cref="Dropped"/> counts started sessions that later ended in an error.
/// </summary>
public sealed partial record PlayersSummary(
    string Client,
    int Sessions,
    int Started,
    int FailedStarts,
    int CutOff,
    int Dropped,
    double StallSeconds,
    double PlaySeconds,
    double MediaSeconds,
    double BitrateSeconds,
    long Bytes,
    IReadOnlyDictionary<string, long> BytesByHost,
    int PathwaySwitches,
    int SteeringSwitches,
    int Rebuffers,
    IReadOnlyDictionary<string, int> FailureReasons,
    IReadOnlyDictionary<string, int> RetriedRequests)
{
    public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, DictionaryKeyPolicy = null };

    /// <summary>Stalled time over stalled plus watched time; NaN when nothing played.</summary>
    [JsonIgnore]
    public double RebufferRatio => StallSeconds + PlaySeconds > 0 ? StallSeconds / (StallSeconds + PlaySeconds) : double.NaN;

    /// <summary>Average bitrate of the media fetched (bit/s), weighted by media time.</summary>
    [JsonIgnore]
    public double AverageBitrate => MediaSeconds > 0 ? BitrateSeconds / MediaSeconds : double.NaN;

    public static PlayersSummary Of(string client, IReadOnlyList<SessionResult> sessions)
    {
        var bytesByHost = new Dictionary<string, long>(StringComparer.Ordinal);
        var reasons = new Dictionary<string, int>(StringComparer.Ordinal);
        var retried = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var s in sessions)
        {
            foreach (var (host, bytes) in s.BytesByHost ?? new Dictionary<string, long>())
            {
                bytesByHost[host] = bytesByHost.GetValueOrDefault(host) + bytes;
            }

            if (s.Error is { } error)
            {
                var reason = Reason(error);
                reasons[reason] = reasons.GetValueOrDefault(reason) + 1;
            }

            foreach (var failure in s.Failures ?? [])
            {
                var reason = Reason(failure);
                retried[reason] = retried.GetValueOrDefault(reason) + 1;
            }
        }

        var started = sessions.Count(s => s.TtffMs is not null);
        return new PlayersSummary(
            client,
            sessions.Count,
            started,
            sessions.Count(s => s.TtffMs is null && s.Error is not null),
            sessions.Count(s => s.TtffMs is null && s.Error is null),
            sessions.Count(s => s.TtffMs is not null && s.Error is not null),
            sessions.Sum(s => s.RebufferSeconds),
            sessions.Sum(s => s.WatchedSeconds),
            sessions.Sum(s => s.PlayedSeconds),
            sessions.Sum(s => s.AverageBitrate * s.PlayedSeconds),
            sessions.Sum(s => s.Bytes),
            bytesByHost,
            sessions.Sum(s => s.PathwaySwitches),
            sessions.Sum(s => s.SteeringSwitches),
            sessions.Sum(s => s.Rebuffers),
            reasons,
            retried);
    }

    /// <summary>Adds up the summaries of several client hosts under <paramref name="client"/>.</summary>
    public static PlayersSummary Sum(string client, IReadOnlyList<PlayersSummary> parts) => new(
        client,
        parts.Sum(p => p.Sessions),
        parts.Sum(p => p.Started),
        parts.Sum(p => p.FailedStarts),
        parts.Sum(p => p.CutOff),
        parts.Sum(p => p.Dropped),
        parts.Sum(p => p.StallSeconds),
        parts.Sum(p => p.PlaySeconds),
        parts.Sum(p => p.MediaSeconds),
        parts.Sum(p => p.BitrateSeconds),
        parts.Sum(p => p.Bytes),
        Merge(parts.Select(p => p.BytesByHost)),
        parts.Sum(p => p.PathwaySwitches),
        parts.Sum(p => p.SteeringSwitches),
        parts.Sum(p => p.Rebuffers),
        Merge(parts.Select(p => p.FailureReasons)),
        Merge(parts.Select(p => p.RetriedRequests)));

    /// <summary>
    /// An error or failure without what differs per request: the time prefix, signed URLs (kept:
    /// the host) and so on, so equal causes count together.
    /// </summary>
    public static string Reason(string message)
    {
        var text = TimePrefix().Replace(message, "");
        return Url().Replace(text, m => m.Groups[1].Value);
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static PlayersSummary FromJson(string json) =>
        JsonSerializer.Deserialize<PlayersSummary>(json, Json) ?? throw new InvalidDataException("an empty players summary");

    private static Dictionary<string, TValue> Merge<TValue>(IEnumerable<IReadOnlyDictionary<string, TValue>> parts)
        where TValue : System.Numerics.INumber<TValue>
    {
        var merged = new Dictionary<string, TValue>(StringComparer.Ordinal);
        foreach (var part in parts)
        {
            foreach (var (key, value) in part)
            {
                merged[key] = merged.GetValueOrDefault(key, TValue.Zero) + value;
            }
        }

        return merged;
    }

    [GeneratedRegex(@"^\d+(\.\d+)?s ")]
    private static partial Regex TimePrefix();

    [GeneratedRegex(@"https?://([^/\s]+)\S*")]
    private static partial Regex Url();
}
