using System.Globalization;

namespace OpenConnect.Bench.LadderBench;

/// <summary>The options of <c>bench ladder</c>.</summary>
public sealed record LadderSettings(
    IReadOnlyList<string> Clips,
    int Seconds,
    int Height,
    IReadOnlyList<string> Codecs,
    IReadOnlyList<int> CodecHeights,
    int CodecSeconds,
    string? Work,
    bool Keep)
{
    public static readonly LadderSettings Default = new(LadderCorpus.Names, 8, 1080, ["vp9", "av1"], [720, 1080], 4, null, false);

    public static LadderSettings Parse(IReadOnlyList<string> args)
    {
        var settings = Default;
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (name == "--keep")
            {
                settings = settings with { Keep = true };
                continue;
            }

            if (i + 1 >= args.Count)
            {
                throw new BenchUsageException($"{name} needs a value (see --help)");
            }

            var value = args[++i];
            settings = name switch
            {
                "--clips" => settings with { Clips = List(value, c => LadderCorpus.Names.Contains(c) ? c : throw new BenchUsageException($"--clips: unknown clip '{c}' (known: {string.Join(", ", LadderCorpus.Names)})")) },
                "--seconds" => settings with { Seconds = Int(name, value, 4, 120) },
                "--height" => settings with { Height = Int(name, value, 144, 2160) },
                "--codecs" => settings with { Codecs = List(value, c => c is "vp9" or "av1" or "hevc" ? c : throw new BenchUsageException($"--codecs: '{c}' is not one of vp9, av1, hevc")) },
                "--codec-heights" => settings with { CodecHeights = List(value, h => Int(name, h, 144, 2160)) },
                "--codec-seconds" => settings with { CodecSeconds = Int(name, value, 0, 120) },
                "--work" => settings with { Work = value },
                _ => throw new BenchUsageException($"unknown option '{name}'"),
            };
        }

        if (settings.CodecSeconds > settings.Seconds)
        {
            throw new BenchUsageException("--codec-seconds must not exceed --seconds");
        }

        return settings;
    }

    private static List<T> List<T>(string value, Func<string, T> parse)
    {
        var items = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(parse).Distinct().ToList();
        return items.Count == 0 ? throw new BenchUsageException("an empty list") : items;
    }

    private static int Int(string name, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max
            ? v
            : throw new BenchUsageException($"{name} must be an integer between {min} and {max}");
}
