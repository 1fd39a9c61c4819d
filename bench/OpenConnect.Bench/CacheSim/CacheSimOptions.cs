using System.Globalization;
using OpenConnect.Appliance.Caching.Policy;

namespace OpenConnect.Bench.CacheSim;

/// <summary>Parsed command line of <c>bench cache-sim</c>.</summary>
internal sealed record CacheSimOptions
{
    public const string UsageText = """
        bench cache-sim [options]
          Replays traces through LRU, FIFO, S3-FIFO, the video-aware policy (the appliance's classes) and
          Belady MIN, at cache sizes that are fractions of each trace's unique bytes.

          --trace synthetic|oracle:PATH|text:PATH
                           synthetic (default): generated VOD workload, one trace per --alpha value
                           oracle:PATH: libCacheSim oracleGeneral binary (24-byte records, uncompressed)
                           text:PATH: one 'time id size' request per line
          --alpha A[,A..]  Zipf exponent(s) of title popularity, synthetic only (default 0.8,1.0)
          --seed N         generator seed (default 42)
          --requests N     synthetic: requests generated (default 3000000); files: at most N read (default all)
          --sizes F[,F..]  cache sizes as fractions of unique bytes (default 0.01,0.05,0.10)
          --policies P[,P..]
                           subset of lru,fifo,s3fifo,video,belady to replay (default all; ratios need lru and belady)
          --s3fifo K=V[,K=V..]
                           S3-FIFO parameters for tuning: small (SmallFraction), ghost (GhostFraction),
                           cap (FrequencyCap), promote (PromoteThreshold), maxobj (MaxSmallObjectFraction);
                           defaults are S3FifoOptions' (the appliance's)
          --video K=V[,K=V..]
                           video policy parameters: halflife (HalfLife), sample (SampleSize), admit (AdmitRatio),
                           unproven (UnprovenAdmitRatio), small (SmallFraction), ghost (GhostFraction),
                           discount (SessionDiscount), quantile (AdmitQuantile), and the signals title, position, rendition (1 on, 0 off) to measure each alone;
                           defaults are VideoPolicyOptions' (the appliance's). Synthetic traces carry the
                           title/rendition/segment of each request; file traces have none (the policy
                           then values each object by its own decayed request count)
          --charts DIR|none
                           where the PNG charts (byte miss ratio vs cache size, one per trace, every policy
                           and Belady) and a copy of the JSON line (cache-sim.json) go (default bench/charts,
                           relative to the working directory); none draws nothing
        Output: a table per trace, a summary at the 5% size, and one JSON line last.
        """;

    public string Trace { get; init; } = "synthetic";

    public double[] Alphas { get; init; } = [0.8, 1.0];

    public int Seed { get; init; } = 42;

    public int? Requests { get; init; }

    public double[] Sizes { get; init; } = [0.01, 0.05, 0.10];

    public string[] Policies { get; init; } = [.. AllPolicies];

    public S3FifoOptions S3Fifo { get; init; } = new();

    public VideoPolicyOptions Video { get; init; } = new();

    /// <summary>Directory for the PNG charts and the JSON copy; null when --charts none.</summary>
    public string? ChartsDirectory { get; init; } = Path.Combine("bench", "charts");

    public static IReadOnlyList<string> AllPolicies { get; } = ["lru", "fifo", "s3fifo", "video", Simulator.Belady];

    public static CacheSimOptions Parse(IReadOnlyList<string> args)
    {
        var o = new CacheSimOptions();
        foreach (var (name, value) in BenchArgs.Pairs(args))
        {
            o = name switch
            {
                "--trace" => o with { Trace = ParseTrace(value) },
                "--alpha" => o with { Alphas = ParseList(name, value, a => a is > 0 and <= 3, "in (0, 3]") },
                "--seed" => o with { Seed = ParseInt(name, value, 0) },
                "--requests" => o with { Requests = ParseInt(name, value, 1) },
                "--sizes" => o with { Sizes = ParseList(name, value, f => f is > 0 and <= 1, "in (0, 1]") },
                "--s3fifo" => o with { S3Fifo = ParseS3Fifo(value) },
                "--video" => o with { Video = ParseVideo(value) },
                "--policies" => o with { Policies = ParsePolicies(value) },
                "--charts" => o with { ChartsDirectory = value == "none" ? null : value },
                _ => throw new BenchUsageException($"unknown option '{name}' (see --help)"),
            };
        }

        return o;
    }

    private static string ParseTrace(string value)
    {
        if (value == "synthetic" || (value.StartsWith("oracle:", StringComparison.Ordinal) && value.Length > 7)
            || (value.StartsWith("text:", StringComparison.Ordinal) && value.Length > 5))
        {
            return value;
        }

        throw new BenchUsageException($"--trace '{value}': expected synthetic, oracle:PATH or text:PATH");
    }

    private static int ParseInt(string name, string value, int min) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min
            ? n
            : throw new BenchUsageException($"{name} '{value}': expected an integer >= {min}");

    private static double[] ParseList(string name, string value, Func<double, bool> valid, string rule)
    {
        var parts = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
        {
            throw new BenchUsageException($"{name} '{value}': expected a comma-separated list of numbers");
        }

        var list = new double[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out list[i]) || !valid(list[i]))
            {
                throw new BenchUsageException($"{name} '{parts[i]}': each value must be a number {rule}");
            }
        }

        return list;
    }

    private static string[] ParsePolicies(string value)
    {
        var list = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var p in list)
        {
            if (!AllPolicies.Contains(p))
            {
                throw new BenchUsageException($"--policies: unknown policy '{p}'; known: {string.Join(",", AllPolicies)}");
            }
        }

        return list.Length > 0 ? list : throw new BenchUsageException("--policies: expected at least one policy");
    }

    private static S3FifoOptions ParseS3Fifo(string value)
    {
        var o = new S3FifoOptions();
        foreach (var pair in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = pair.IndexOf('=');
            if (eq <= 0 || !double.TryParse(pair.AsSpan(eq + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
            {
                throw new BenchUsageException($"--s3fifo '{pair}': expected KEY=NUMBER");
            }

            o = pair[..eq] switch
            {
                "small" => o with { SmallFraction = v },
                "ghost" => o with { GhostFraction = v },
                "cap" => o with { FrequencyCap = (int)v },
                "promote" => o with { PromoteThreshold = (int)v },
                "maxobj" => o with { MaxSmallObjectFraction = v },
                _ => throw new BenchUsageException($"--s3fifo: unknown parameter '{pair[..eq]}'; known: small, ghost, cap, promote, maxobj"),
            };
        }

        try
        {
            o.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new BenchUsageException($"--s3fifo: {ex.Message}");
        }

        return o;
    }

    private static VideoPolicyOptions ParseVideo(string value)
    {
        var o = new VideoPolicyOptions();
        foreach (var pair in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = pair.IndexOf('=');
            if (eq <= 0 || !double.TryParse(pair.AsSpan(eq + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
            {
                throw new BenchUsageException($"--video '{pair}': expected KEY=NUMBER");
            }

            o = pair[..eq] switch
            {
                "halflife" => o with { HalfLife = v },
                "sample" => o with { SampleSize = (int)v },
                "admit" => o with { AdmitRatio = v },
                "small" => o with { SmallFraction = v },
                "unproven" => o with { UnprovenAdmitRatio = v },
                "ghost" => o with { GhostFraction = v },
                "discount" => o with { SessionDiscount = v },
                "quantile" => o with { AdmitQuantile = v },
                "title" => o with { UseTitle = Switch(pair, v) },
                "position" => o with { UsePosition = Switch(pair, v) },
                "rendition" => o with { UseRendition = Switch(pair, v) },
                _ => throw new BenchUsageException($"--video: unknown parameter '{pair[..eq]}'; known: halflife, sample, admit, unproven, small, ghost, discount, quantile, title, position, rendition"),
            };
        }

        try
        {
            o.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new BenchUsageException($"--video: {ex.Message}");
        }

        return o;
    }

    private static bool Switch(string pair, double v) => v switch
    {
        0 => false,
        1 => true,
        _ => throw new BenchUsageException($"--video '{pair}': a signal is 1 (on) or 0 (off)"),
    };
}
