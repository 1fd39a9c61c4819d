using System.Globalization;

namespace OpenConnect.Bench.Fleet;

/// <summary>The options of <c>bench fleet</c>, validated at start.</summary>
/// <param name="Sessions">Concurrent players per client host (default 20: two hosts, 40 players, fit 2 cores beside the bed).</param>
/// <param name="Seconds">Length of the run (default 120).</param>
/// <param name="TitleSeconds">Length of the published title (default 60): players start a new session when one ends.</param>
/// <param name="Seed">Chooses the chaos schedule's appliances (default 42).</param>
/// <param name="Chaos">The chaos schedule on (default) or off (a baseline run).</param>
public sealed record FleetOptions(int Sessions, int Seconds, int TitleSeconds, int Seed, bool Chaos)
{
    public const string Usage = """
        bench fleet [--sessions N] [--seconds S] [--title-seconds S] [--seed N] [--chaos on|off]
          --sessions N        concurrent players per client host (ca in site-a, cb in site-b;
                              default 20); a player starts a new session when one ends
          --seconds S         length of the run (default 120; at least 30 with chaos)
          --title-seconds S   length of the title published through the origin's pipeline
                              (default 60, 2 s segments, the bed's 360p ladder)
          --seed N            chooses the chaos schedule's appliances (default 42)
          --chaos on|off      off: the same run without incidents (baseline; default on)
        Brings up the multi-host bed (scripts/fleet-bed.sh; every role's Release build in its own
        network namespace), publishes a title, runs the players inside the client namespaces
        (bench fleet players …, one process per client host) and, with chaos, kills and restarts
        one appliance per site, partitions one from steering and stops a whole site for a while.
        Reports failed starts, rebuffer ratio and bytes served by appliances and by the origin per
        site; goal: 0 failed starts and rebuffer ratio < 0.5 %. Needs root (network namespaces),
        a Release build of the solution, ffmpeg, curl, node and web/node_modules (cd web && npm ci).
        """;

    public static FleetOptions Parse(IReadOnlyList<string> args)
    {
        var o = new FleetOptions(20, 120, 60, 42, true);
        foreach (var (name, value) in BenchArgs.Pairs(args))
        {
            o = name switch
            {
                "--sessions" => o with { Sessions = Number(name, value, 1, 1000) },
                "--seconds" => o with { Seconds = Number(name, value, 10, 86_400) },
                "--title-seconds" => o with { TitleSeconds = Number(name, value, 10, 3600) },
                "--seed" => o with { Seed = Number(name, value, 0, int.MaxValue) },
                "--chaos" => o with
                {
                    Chaos = value switch
                    {
                        "on" => true,
                        "off" => false,
                        _ => throw new BenchUsageException($"--chaos: '{value}' is neither on nor off"),
                    },
                },
                _ => throw new BenchUsageException($"unknown option '{name}' (see bench fleet --help)"),
            };
        }

        if (o.Chaos && o.Seconds < ChaosSchedule.MinimumSeconds)
        {
            throw new BenchUsageException($"--seconds: a run with chaos needs at least {ChaosSchedule.MinimumSeconds} s (or --chaos off)");
        }

        return o;
    }

    private static int Number(string name, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new BenchUsageException($"{name}: '{value}' is not a number from {min} to {max}");
}
