using System.Globalization;

namespace OpenConnect.Bench.FillSim;

/// <summary>Parsed command line of <c>bench fill-sim</c>.</summary>
public sealed record FillSimOptions
{
    public const string UsageText = """
        bench fill-sim [options]
          30 days of a region's demand replayed through the appliance's eviction policy (S3-FIFO) for
          pull-only caching, push fill (forecast + placement, pinned region) plus pull, known_rates
          (push fill's planner given each file's true expected plays for the day: the bound of any
          forecast), and an oracle that places with the day's realized reads.

          --days N           days simulated (default 30; the first --warmup days are not scored)
          --warmup N         days not scored while caches and history warm up (default 7)
          --titles N         catalog titles at day 0 (default 10000)
          --releases N       new titles per day (default 20)
          --plays N          plays per day in the region (default 30000)
          --alpha A          Zipf exponent of title popularity (default 0.8)
          --sizes F[,F..]    each appliance's cache as a fraction of the day-0 catalog bytes (default 0.05,0.10)
          --pin-share F      share of an appliance's cache fill may pin (default 0.8, the fill controller's)
          --rate-mbs N       per-appliance fill rate cap in MB/s (default 150, the appliance's)
          --window-hours N   nightly fill window in hours (default 4, 02:00-06:00)
          --release-notice-days N  days before its premiere a release is ingested and listed by the
                             origin with its publication time (default 1: the night before it
                             premieres; 0: listed at premiere, learned by the forecast the night after)
          --fetch-cost X     FetchCostRequests of push fill's and known_rates' planner (default: the fill controller's default)
          --rendition-mix M  how push fill splits a title's plays over renditions: learned (default: each
                             site's mix from the requests its appliances report per title and rendition,
                             as the fill controller does) or configured (the configured shares)
          --title-mix-prior P  TitleRenditionPriorPlays of the learned mix (default: the fill controller's)
          --seed N           generator seed (default 7)
          --charts DIR|none  where the PNG charts (offload per day for pull, push fill, known rates and the
                             oracle, one per cache size) and a copy of the JSON line go (default bench/charts,
                             relative to the working directory); none draws nothing
        Output: a table per cache size, the goal check at 10% (push fill against the oracle), and one
        JSON line last.
        """;

    public int Days { get; init; } = 30;

    public int Warmup { get; init; } = 7;

    public int Titles { get; init; } = 10_000;

    public int Releases { get; init; } = 20;

    public int Plays { get; init; } = 30_000;

    public double Alpha { get; init; } = 0.8;

    public double[] Sizes { get; init; } = [0.05, 0.10];

    public double PinShare { get; init; } = 0.8;

    public double RateMBs { get; init; } = 150;

    public double WindowHours { get; init; } = 4;

    public int ReleaseNoticeDays { get; init; } = 1;

    public double? FetchCost { get; init; }

    public int Seed { get; init; } = 7;

    public bool LearnRenditionMix { get; init; } = true;

    public double? TitleMixPrior { get; init; }

    /// <summary>Directory for the PNG charts and the JSON copy; null when --charts none.</summary>
    public string? ChartsDirectory { get; init; } = Path.Combine("bench", "charts");

    public static FillSimOptions Parse(IReadOnlyList<string> args)
    {
        var o = new FillSimOptions();
        foreach (var (name, value) in BenchArgs.Pairs(args))
        {
            o = name switch
            {
                "--days" => o with { Days = Int(name, value, 2, 365) },
                "--warmup" => o with { Warmup = Int(name, value, 0, 364) },
                "--titles" => o with { Titles = Int(name, value, 10, 1_000_000) },
                "--releases" => o with { Releases = Int(name, value, 0, 10_000) },
                "--plays" => o with { Plays = Int(name, value, 100, 10_000_000) },
                "--alpha" => o with { Alpha = Number(name, value, 0.1, 3) },
                "--sizes" => o with { Sizes = value.Split(',').Select(v => Number(name, v, 0.0001, 1)).ToArray() },
                "--pin-share" => o with { PinShare = Number(name, value, 0, 1) },
                "--rate-mbs" => o with { RateMBs = Number(name, value, 0.001, 1e6) },
                "--window-hours" => o with { WindowHours = Number(name, value, 0.01, 24) },
                "--release-notice-days" => o with { ReleaseNoticeDays = Int(name, value, 0, 30) },
                "--fetch-cost" => o with { FetchCost = Number(name, value, 0, 1e6) },
                "--rendition-mix" => o with
                {
                    LearnRenditionMix = value switch
                    {
                        "learned" => true,
                        "configured" => false,
                        _ => throw new BenchUsageException($"{name}: '{value}' is not 'learned' or 'configured'"),
                    },
                },
                "--charts" => o with { ChartsDirectory = value == "none" ? null : value },
                "--title-mix-prior" => o with { TitleMixPrior = Number(name, value, 0, 1e9) },
                "--seed" => o with { Seed = Int(name, value, 0, int.MaxValue) },
                _ => throw new BenchUsageException($"unknown option '{name}' (see --help)"),
            };
        }

        if (o.Warmup >= o.Days)
        {
            throw new BenchUsageException($"--warmup ({o.Warmup}) must be below --days ({o.Days})");
        }

        return o;
    }

    private static int Int(string name, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new BenchUsageException($"{name}: '{value}' is not an integer in {min}..{max}");

    private static double Number(string name, string value, double min, double max) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && x >= min && x <= max
            ? x
            : throw new BenchUsageException($"{name}: '{value}' is not a number in {min}..{max}");
}
