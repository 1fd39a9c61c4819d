using System.Globalization;

namespace OpenConnect.Bench.Throughput;

/// <summary>
/// What a case measures. <see cref="Ram"/> and <see cref="Ssd"/>: every segment on that appliance tier,
/// plain HTTP. <see cref="Https"/>: the RAM tier over TLS on both servers (same certificate, TLS 1.3, one
/// cipher suite). <see cref="Log"/>: the RAM tier with the appliance's JSON access log on, beside an
/// appliance with it off in the same rounds.
/// </summary>
public enum TierCase
{
    Ram,
    Ssd,
    Https,
    Log,
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

    /// <summary>Where the chart goes when <c>--chart</c> is not given, relative to the repository root.</summary>
    public const string DefaultChartPath = "bench/charts/throughput.png";

    public const string Usage = """
        bench throughput [options]
          Serves N files of 2 MB from nginx (one worker, sendfile) and from the appliance, each pinned to core 0,
          and loads them with wrk (saturation) and h2load --h1 --rps (fixed rate) pinned to core 1, alternating
          servers for R rounds. Installs nginx-light, wrk, nghttp2-client (h2load) and openssl with apt-get when
          missing and running as root; uses strace when present to count the appliance's sendfile calls.
          --files N            number of 2 MB segment files (default 64)
          --seconds D          measured duration per run, in seconds (default 6; at N connections at least N / 700)
          --rounds R           rounds of nginx/appliance alternation (default 1)
          --connections LIST   connection counts, comma-separated, 1..10000 (default 32,1000,10000)
          --cases LIST         ram, ssd, https (RAM tier over TLS 1.3), log (RAM tier, JSON access log on,
                               beside one with it off) (default ram,ssd,https,log)
          --warmup S           unmeasured wrk run before each connection count, per server (default 2; 0 = none)
          --fixed-rate P       fixed-rate runs at P % of nginx's saturated req/s at that connection count, per
                               case (default 50; 0 = none)
          --memory on|off      resident memory of both servers with 0 and N idle connections held open (default on)
          --warmup-check on|off  p99 over the first S s after a fresh appliance starts on a warm SSD tier against
                               S s of steady state 10 s later (default on)
          --soak S             S seconds of wrk load on the appliance's RAM tier, RSS sampled every 10 s, growth
                               reported first vs last minute (default 0 = none; the issue asks for 600)
          --transport T        the appliance's plaintext data listeners on kestrel (Kestrel's sockets) or epoll
                               (its run-to-completion transport, Appliance:Serving:Transport=Epoll) (default kestrel)
          --chart PATH|none    PNG of CPU-s/GB and p99 against connection count; the JSON line is copied beside it
                               as PATH with .json (default bench/charts/throughput.png under the repository)
        """;

    /// <summary>Percent of nginx's saturated req/s offered in the fixed-rate runs; 0 = none.</summary>
    public int FixedRatePercent { get; init; } = 50;

    public bool Memory { get; init; } = true;

    /// <summary>The appliance's plaintext data listeners on its epoll transport instead of Kestrel's sockets.</summary>
    public bool Epoll { get; init; }

    public bool WarmupCheck { get; init; } = true;

    /// <summary>Seconds of the memory soak; 0 = none.</summary>
    public int SoakSeconds { get; init; }

    /// <summary>Chart path as given (relative to the repository root when not rooted); null = no chart.</summary>
    public string? ChartPath { get; init; } = DefaultChartPath;

    public int MaxConnections => Connections.Max();

    /// <summary>
    /// Measured wrk seconds at <paramref name="connections"/>: at least long enough for every connection to get
    /// a few 2 MB responses at about 1.4 GB/s (N / 700 s), so p99 at 10,000 connections is not only the first responses.
    /// </summary>
    public int SaturationSeconds(int connections) => Math.Max(Seconds, connections / 700);

    /// <summary>wrk's --timeout: 5 s up to 1,000 connections (as before), then N / 200 s (one response waits behind N − 1 others).</summary>
    public static int WrkTimeoutSeconds(int connections) => Math.Max(5, connections / 200);

    public static ThroughputSettings Parse(IReadOnlyList<string> args)
    {
        var settings = new ThroughputSettings(64, 6, 1, [32, 1000, 10_000], [TierCase.Ram, TierCase.Ssd, TierCase.Https, TierCase.Log], 2);
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (i + 1 >= args.Count)
            {
                throw new BenchUsageException($"option '{name}' needs a value; see bench throughput --help");
            }

            var value = args[++i];
            settings = name switch
            {
                "--files" => settings with { Files = ParseInt(name, value, 1, 10_000) },
                "--seconds" => settings with { Seconds = ParseInt(name, value, 1, 3600) },
                "--rounds" => settings with { Rounds = ParseInt(name, value, 1, 100) },
                "--warmup" => settings with { WarmupSeconds = ParseInt(name, value, 0, 600) },
                "--connections" => settings with { Connections = ParseList(name, value, v => ParseInt(name, v, 1, 10_000)) },
                "--cases" => settings with { Cases = ParseList(name, value, v => ParseCase(name, v)) },
                "--fixed-rate" => settings with { FixedRatePercent = ParseInt(name, value, 0, 100) },
                "--memory" => settings with { Memory = ParseSwitch(name, value) },
                "--transport" => settings with { Epoll = value switch { "kestrel" => false, "epoll" => true, _ => throw new BenchUsageException($"{name} needs kestrel or epoll") } },
                "--warmup-check" => settings with { WarmupCheck = ParseSwitch(name, value) },
                "--soak" => settings with { SoakSeconds = ParseInt(name, value, 0, 86_400) },
                "--chart" => settings with { ChartPath = value == "none" ? null : ParsePath(name, value) },
                _ => throw new BenchUsageException($"unknown option '{name}'; see bench throughput --help"),
            };
        }

        if (settings.SoakSeconds is > 0 and < 30)
        {
            throw new BenchUsageException($"--soak: {settings.SoakSeconds} s is too short to compare a first and a last window of 10 s samples; use 0 or at least 30");
        }

        return settings;
    }

    public static string Label(TierCase tier) => tier switch
    {
        TierCase.Ram => "ram",
        TierCase.Ssd => "ssd",
        TierCase.Https => "https",
        _ => "log",
    };

    private static TierCase ParseCase(string name, string value) => value switch
    {
        "ram" => TierCase.Ram,
        "ssd" => TierCase.Ssd,
        "https" => TierCase.Https,
        "log" => TierCase.Log,
        _ => throw new BenchUsageException($"{name}: '{value}' is not a case; use ram, ssd, https, log or a comma-separated list of them"),
    };

    private static bool ParseSwitch(string name, string value) => value switch
    {
        "on" => true,
        "off" => false,
        _ => throw new BenchUsageException($"{name}: '{value}' must be on or off"),
    };

    private static string ParsePath(string name, string value) =>
        value.Length > 0 && value.IndexOfAny(Path.GetInvalidPathChars()) < 0 && !value.EndsWith('/')
            ? value
            : throw new BenchUsageException($"{name}: '{value}' is not a file path (or none)");

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
