using System.Text.Json;
using System.Text.Json.Serialization;
using OpenConnect.Contracts.Content;

namespace OpenConnect.Origin.Web;

/// <summary>
/// One QoE report from the player (<c>navigator.sendBeacon</c>). <c>start</c> carries the time to
/// first frame; <c>progress</c> and <c>end</c> carry what happened since the previous report of the
/// session (play and rebuffer time, rebuffer events, switches, kilobits played); <c>failure</c> is a
/// video start failure (Vsf), <c>exit</c> an exit before video start (EBVS); <c>error</c> a fatal
/// error after start.
/// </summary>
public sealed record QoeBeacon
{
    public string? Kind { get; init; }

    public string? Session { get; init; }

    public string? Title { get; init; }

    public string? Player { get; init; }

    public string? Abr { get; init; }

    public string? Site { get; init; }

    public string? Appliance { get; init; }

    public double? TtffMs { get; init; }

    public double? PlaySeconds { get; init; }

    public double? RebufferSeconds { get; init; }

    public int? RebufferCount { get; init; }

    public int? Switches { get; init; }

    public double? PlayedKbits { get; init; }

    public double? BitrateKbps { get; init; }

    public string? Error { get; init; }

    public static readonly IReadOnlySet<string> Kinds = new HashSet<string>(StringComparer.Ordinal) { "start", "progress", "end", "failure", "exit", "error" };

    public static readonly IReadOnlySet<string> Players = new HashSet<string>(StringComparer.Ordinal) { "hls", "dash", "shaka" };

    public static readonly IReadOnlySet<string> AbrRules = new HashSet<string>(StringComparer.Ordinal) { "seed", "builtin" };

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
    };

    /// <summary>Parses and checks a beacon body; returns the problem as text when it is not a valid beacon.</summary>
    public static (QoeBeacon? Beacon, string? Problem) Parse(ReadOnlySpan<byte> body)
    {
        QoeBeacon? beacon;
        try
        {
            beacon = JsonSerializer.Deserialize<QoeBeacon>(body, Json);
        }
        catch (JsonException ex)
        {
            return (null, "the body is not a QoE beacon: " + ex.Message);
        }

        if (beacon is null)
        {
            return (null, "the body is not a QoE beacon: null");
        }

        return (beacon, beacon.Check());
    }

    /// <summary>The first thing wrong with the beacon, or null.</summary>
    public string? Check()
    {
        if (Kind is null || !Kinds.Contains(Kind))
        {
            return "kind must be one of start, progress, end, failure, exit, error";
        }

        if (!IsToken(Session, 8, 64))
        {
            return "session must be 8..64 characters of [A-Za-z0-9_-]";
        }

        if (Title is null || !ContentKey.IsValidTitleId(Title))
        {
            return "title must be a title id";
        }

        if (Player is null || !Players.Contains(Player))
        {
            return "player must be hls, dash or shaka";
        }

        if (Abr is null || !AbrRules.Contains(Abr))
        {
            return "abr must be seed or builtin";
        }

        if ((Site is not null && !IsLabel(Site)) || (Appliance is not null && !IsLabel(Appliance)))
        {
            return "site and appliance must be 1..64 characters of [A-Za-z0-9._:-]";
        }

        if (Kind == "start" && TtffMs is not (> 0 and <= 600_000))
        {
            return "a start beacon needs ttffMs in (0, 600000]";
        }

        if (!InRange(TtffMs, 600_000) || !InRange(PlaySeconds, 3600) || !InRange(RebufferSeconds, 3600) || !InRange(PlayedKbits, 3600 * 1_000_000.0) || !InRange(BitrateKbps, 1_000_000))
        {
            return "ttffMs, playSeconds, rebufferSeconds, playedKbits and bitrateKbps must be finite, non-negative and within bounds (one report covers at most an hour)";
        }

        if (RebufferCount is < 0 or > 10_000 || Switches is < 0 or > 10_000)
        {
            return "rebufferCount and switches must be between 0 and 10000";
        }

        if (Error is { Length: > 200 })
        {
            return "error must be at most 200 characters";
        }

        return null;
    }

    private static bool InRange(double? value, double max) => value is null || (double.IsFinite(value.Value) && value.Value >= 0 && value.Value <= max);

    private static bool IsToken(string? text, int min, int max)
    {
        if (text is null || text.Length < min || text.Length > max)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsLabel(string text)
    {
        if (text.Length is < 1 or > 64)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or ':'))
            {
                return false;
            }
        }

        return true;
    }
}
