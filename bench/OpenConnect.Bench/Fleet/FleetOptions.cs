using System.Globalization;

namespace OpenConnect.Bench.Fleet;

/// <summary>The options of <c>bench fleet</c>, validated at start.</summary>
/// <param name="Sessions">Concurrent players per client host (default 20: two hosts, 40 players, fit 2 cores beside the bed).</param>
/// <param name="Seconds">Length of the run (default 120).</param>
/// <param name="TitleSeconds">Length of the published title (default 60): players start a new session when one ends.</param>
/// <param name="Seed">Chooses the chaos schedule's appliances (default 42).</param>
/// <param name="Chaos">The chaos schedule on (default) or off (a baseline run).</param>
/// <param name="SteeringReplicas">Steering instances, each on its own bed host (default 1; at most 3).</param>
/// <param name="KillSteeringAt">Seconds into the run at which one steering replica is killed with SIGKILL (null: none).</param>
public sealed record FleetOptions(int Sessions, int Seconds, int TitleSeconds, int Seed, bool Chaos, int SteeringReplicas = 1, int? KillSteeringAt = null)
{
    /// <summary>Steering hosts the bed has (<c>steering</c>, <c>steering-2</c>, <c>steering-3</c>).</summary>
    public const int MaxSteeringReplicas = 3;

    public const string Usage = """
        bench fleet [--sessions N] [--seconds S] [--title-seconds S] [--seed N] [--chaos on|off]
                    [--steering-replicas N] [--kill-steering-at S]
          --sessions N        concurrent players per client host (ca in site-a, cb in site-b;
                              default 20); a player starts a new session when one ends
          --seconds S         length of the run (default 120; at least 30 with chaos)
          --title-seconds S   length of the title published through the origin's pipeline
                              (default 60, 2 s segments, the bed's 360p ladder)
          --seed N            chooses the chaos schedule's appliances (default 42)
          --chaos on|off      off: the same run without incidents (baseline; default on)
          --steering-replicas N  steering instances, each on its own host (1-3, default 1); every
                              appliance heartbeats to all, players spread their starts over them and
                              move to the next one when one refuses the connection
          --kill-steering-at S   kill -9 the first steering instance S seconds into the run (needs
                              --steering-replicas 2 or 3; it stays down): with --chaos off, every
                              failed start and rebuffer of the run is the kill's
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
                "--steering-replicas" => o with { SteeringReplicas = Number(name, value, 1, MaxSteeringReplicas) },
                "--kill-steering-at" => o with { KillSteeringAt = Number(name, value, 1, 86_400) },
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

        if (o.KillSteeringAt is { } kill && (o.SteeringReplicas < 2 || kill >= o.Seconds))
        {
            throw new BenchUsageException($"--kill-steering-at: needs --steering-replicas 2 or 3 and a time within the run (--seconds {o.Seconds})");
        }

        return o;
    }

    private static int Number(string name, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new BenchUsageException($"{name}: '{value}' is not a number from {min} to {max}");
}
