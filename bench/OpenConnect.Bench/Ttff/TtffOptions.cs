using System.Globalization;
using System.Text.Json;

namespace OpenConnect.Bench.Ttff;

/// <summary><c>bench ttff</c>'s arguments, checked: a bad value is a usage error naming the option.</summary>
internal sealed record TtffOptions
{
    public int Starts { get; private init; } = 20;

    public int Rounds { get; private init; } = 4;

    public int Seconds { get; private init; } = 12;

    public IReadOnlyList<string> Engines { get; private init; } = ["hls", "dash"];

    public string Profile { get; private init; } = "fast";

    public double FirstSegmentSeconds { get; private init; } = 2;

    public string HlsConfig { get; private init; } = "{}";

    public string DashConfig { get; private init; } = "{}";

    /// <summary>Our side's starts: with the start set (<c>on</c>), without (<c>off</c>), or both as two sides (<c>both</c>).</summary>
    public string StartSet { get; private init; } = "on";

    public static TtffOptions Parse(IReadOnlyList<string> args)
    {
        var options = new TtffOptions();
        foreach (var (name, value) in BenchArgs.Pairs(args))
        {
            options = name switch
            {
                "--starts" => options with { Starts = Whole(name, value) },
                "--rounds" => options with { Rounds = Whole(name, value) },
                "--seconds" => options with { Seconds = Whole(name, value) },
                "--engines" => options with { Engines = EngineList(value) },
                "--profile" => value is "fast" or "baseline" ? options with { Profile = value } : throw new BenchUsageException("--profile must be fast or baseline"),
                "--first-segment" => options with { FirstSegmentSeconds = FirstSegment(value) },
                "--hls-config" => options with { HlsConfig = JsonObject(name, value) },
                "--dash-config" => options with { DashConfig = JsonObject(name, value) },
                "--start-set" => value is "on" or "off" or "both" ? options with { StartSet = value } : throw new BenchUsageException("--start-set must be on, off or both"),
                _ => throw new BenchUsageException($"unknown option {name} (see --help)"),
            };
        }

        if (options.Starts < 2 || options.Rounds < 1 || options.Starts % options.Rounds != 0 || options.Seconds < 4)
        {
            throw new BenchUsageException("--starts must be at least 2 and a multiple of --rounds; --seconds at least 4");
        }

        return options;
    }

    private static int Whole(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new BenchUsageException($"{name} needs a whole number");

    private static string[] EngineList(string value)
    {
        var engines = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return engines.Length > 0 && engines.All(e => e is "hls" or "dash") && engines.Distinct().Count() == engines.Length
            ? engines
            : throw new BenchUsageException("--engines is a comma-separated list of hls and dash");
    }

    private static double FirstSegment(string value) =>
        // Up to half the 2 s segment (the cut then falls on each keyframe, as in the origin), or 2: no short segment.
        double.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var s) && (s is >= 0.5 and <= 1 || s == 2) && s * 30 == Math.Floor(s * 30)
            ? s
            : throw new BenchUsageException("--first-segment is 0.5 to 1 seconds (a whole number of frames at 30 fps), or 2 for none");

    private static string JsonObject(string name, string value)
    {
        try
        {
            using var document = JsonDocument.Parse(value);
            return document.RootElement.ValueKind == JsonValueKind.Object ? value : throw new BenchUsageException($"{name} must be a JSON object");
        }
        catch (JsonException ex)
        {
            throw new BenchUsageException($"{name} is not JSON: {ex.Message}");
        }
    }
}
