using System.Globalization;

namespace OpenConnect.Bench.Throughput;

/// <summary>The tier an appliance case serves from: every segment in RAM, or every segment on the SSD tier only.</summary>
public enum TierCase
{
    Ram,
    Ssd,
}

/// <summary>Options of the <c>throughput</c> scenario, parsed from the command line with documented defaults.</summary>
public sealed record ThroughputSettings(
    int Files,
    int Seconds,
    int Rounds,
    IReadOnlyList<int> Connections,
    IReadOnlyList<TierCase> Cases,
    int WarmupSeconds)
{
    public const int FileBytes = 2 * 1024 * 1024;

    public const string Usage = """
        bench throughput [options]
          Serves N files of 2 MB from nginx (one worker, sendfile) and from the appliance (RAM tier, then
          SSD tier with sendfile), each pinned to core 0, and loads them with wrk pinned to core 1,
          alternating servers for R rounds. Needs nginx, wrk and taskset (Debian: nginx-light wrk util-linux);
          uses strace when present to count the appliance's sendfile calls on the SSD tier.
          --files N            number of 2 MB segment files (default 64)
          --seconds D          measured wrk duration per run, in seconds (default 10)
          --rounds R           rounds of nginx/appliance alternation (default 2)
          --connections LIST   wrk connection counts, comma-separated (default 32,1000)
          --cases LIST         appliance tiers to measure: ram, ssd (default ram,ssd)
          --warmup S           unmeasured wrk run before each connection count, per server (default 2; 0 = none)
        """;

    public static ThroughputSettings Parse(IReadOnlyList<string> args)
    {
        var files = 64;
        var seconds = 10;
        var rounds = 2;
        var warmup = 2;
        IReadOnlyList<int> connections = [32, 1000];
        IReadOnlyList<TierCase> cases = [TierCase.Ram, TierCase.Ssd];
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (i + 1 >= args.Count)
            {
                throw new BenchUsageException($"option '{name}' needs a value; see bench throughput --help");
            }

            var value = args[++i];
            switch (name)
            {
                case "--files":
                    files = ParseInt(name, value, 1, 10_000);
                    break;
                case "--seconds":
                    seconds = ParseInt(name, value, 1, 3600);
                    break;
                case "--rounds":
                    rounds = ParseInt(name, value, 1, 100);
                    break;
                case "--warmup":
                    warmup = ParseInt(name, value, 0, 600);
                    break;
                case "--connections":
                    connections = ParseList(name, value, v => ParseInt(name, v, 1, 10_000));
                    break;
                case "--cases":
                    cases = ParseList(name, value, v => v switch
                    {
                        "ram" => TierCase.Ram,
                        "ssd" => TierCase.Ssd,
                        _ => throw new BenchUsageException($"{name}: '{v}' is not a case; use ram, ssd or ram,ssd"),
                    });
                    break;
                default:
                    throw new BenchUsageException($"unknown option '{name}'; see bench throughput --help");
            }
        }

        return new ThroughputSettings(files, seconds, rounds, connections, cases, warmup);
    }

    private static int ParseInt(string name, string value, int min, int max)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < min || n > max)
        {
            throw new BenchUsageException($"{name}: '{value}' must be a whole number from {min} to {max}");
        }

        return n;
    }

    private static IReadOnlyList<T> ParseList<T>(string name, string value, Func<string, T> parse)
    {
        var items = value.Split(',', StringSplitOptions.TrimEntries);
        if (items.Any(string.IsNullOrEmpty))
        {
            throw new BenchUsageException($"{name}: '{value}' must be a comma-separated list without empty items");
        }

        var parsed = items.Select(parse).ToList();
        if (parsed.Distinct().Count() != parsed.Count)
        {
            throw new BenchUsageException($"{name}: '{value}' lists an item twice");
        }

        return parsed;
    }
}
