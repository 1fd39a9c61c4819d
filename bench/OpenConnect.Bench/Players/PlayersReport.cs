using System.Globalization;
using OpenConnect.Bench.Ttff;

namespace OpenConnect.Bench.Players;

/// <summary>Figures of one (sessions, trace, rule) cell.</summary>
internal sealed record CaseFigures(
    int Sessions,
    string Trace,
    string Rule,
    int Players,
    int Failed,
    double RebufferRatio,
    double SteeringP95Ms,
    double TtffP95Ms,
    double AverageBitrateKbps,
    double SwitchesPerMinute,
    double LinkEfficiency)
{
    public static CaseFigures Of(int sessions, string trace, string rule, IReadOnlyList<SessionResult> results)
    {
        var ok = results.Where(r => r.Error is null).ToList();
        var played = ok.Sum(r => r.PlayedSeconds);
        var stalled = ok.Sum(r => r.RebufferSeconds);
        var ttff = ok.Where(r => r.TtffMs is not null).Select(r => r.TtffMs!.Value).ToList();
        var capacity = ok.Sum(r => r.TraceBytes);
        return new CaseFigures(
            sessions,
            trace,
            rule,
            results.Count,
            results.Count - ok.Count,
            played + stalled > 0 ? stalled / (played + stalled) : double.NaN,
            P95([.. ok.Where(r => r.SteeringMs is not null).Select(r => r.SteeringMs!.Value)]),
            P95(ttff),
            ok.Count > 0 ? ok.Average(r => r.AverageBitrate) / 1000 : double.NaN,
            played > 0 ? ok.Sum(r => r.Switches) / (played / 60) : double.NaN,
            capacity > 0 ? ok.Sum(r => r.SegmentBytes) / capacity : double.NaN);
    }

    private static double P95(List<double> values) => values.Count > 0 ? TtffScenario.Percentile(values, 95) : double.NaN;
}

/// <summary>The table per cell, the goals, the CPU per case and the JSON line.</summary>
internal static class PlayersReport
{
    public static int Write(string scenario, IReadOnlyList<SwarmRun> runs, double lowestBandwidth, PlayersOptions options)
    {
        var cases = new List<CaseFigures>();
        foreach (var run in runs)
        {
            foreach (var cell in run.Results.GroupBy(r => (r.Trace, r.Rule)).OrderBy(g => g.Key.Trace, StringComparer.Ordinal).ThenBy(g => g.Key.Rule, StringComparer.Ordinal))
            {
                cases.Add(CaseFigures.Of(run.Sessions, cell.Key.Trace, cell.Key.Rule, [.. cell]));
            }

            foreach (var rule in Swarm.Rules)
            {
                cases.Add(CaseFigures.Of(run.Sessions, "all", rule.Name, [.. run.Results.Where(r => r.Rule == rule.Name)]));
            }
        }

        var table = new Table("sessions", "trace", "rule", "players", "failed", "rebuffer %", "avg kbit/s", "switches/min", "steering p95 ms", "TTFF p95 ms", "link eff.");
        foreach (var c in cases)
        {
            table.Add(c.Sessions, c.Trace, c.Rule, c.Players, c.Failed, F(c.RebufferRatio * 100, "F2"), F(c.AverageBitrateKbps, "F0"), F(c.SwitchesPerMinute, "F2"), F(c.SteeringP95Ms, "F0"), F(c.TtffP95Ms, "F0"), F(c.LinkEfficiency, "F2"));
        }

        Console.WriteLine();
        Console.Write(table);
        Console.WriteLine("link eff.: segment bytes received / bytes the trace could carry while they downloaded (after the round trips); 1.00 = the limiter alone set the pace, lower = the machine (servers or swarm) slowed the transfers.");
        Console.WriteLine("steering: /play and the steered multivariant playlist, from the session's start; TTFF: to the first segment (video + audio) buffered.");
        foreach (var run in runs)
        {
            foreach (var cell in run.Results.Where(r => r.FirstStallAt is not null).GroupBy(r => (r.Trace, r.Rule)))
            {
                var at = cell.Select(r => r.FirstStallAt!.Value).Order().Select(t => t.ToString("F1", CultureInfo.InvariantCulture));
                Console.WriteLine($"  {run.Sessions} sessions, {cell.Key.Trace}/{cell.Key.Rule}: {cell.Count()} sessions stalled, first stall at {string.Join(", ", at.Take(12))} s into the session");
            }
        }

        foreach (var run in runs.Where(r => r.Results.Any(x => x.Error is not null)))
        {
            foreach (var error in run.Results.Where(r => r.Error is not null).GroupBy(r => r.Error).Take(5))
            {
                Console.WriteLine($"  {run.Sessions} sessions: {error.Count()} failed: {error.Key}");
            }
        }

        var floorMet = Swarm.Rules.ToDictionary(r => r.Name, r => cases.Where(c => c.Rule == r.Name && c.Trace.StartsWith("floor", StringComparison.Ordinal)).All(c => c.RebufferRatio == 0 && c.Failed == 0));
        var variableMet = Swarm.Rules.ToDictionary(r => r.Name, r => cases.Where(c => c.Rule == r.Name && c.Trace.EndsWith("-variable", StringComparison.Ordinal)).All(c => c.RebufferRatio < 0.01 && c.Failed == 0));
        foreach (var rule in Swarm.Rules)
        {
            Console.WriteLine(FormattableString.Invariant(
                $"goals, {rule.Name}: no rebuffering at 1.2x the lowest rung ({1.2 * lowestBandwidth / 1000:F0} kbit/s): {(floorMet[rule.Name] ? "met" : "NOT met")}; rebuffer ratio < 1% on variable traces: {(variableMet[rule.Name] ? "met" : "NOT met")}"));
        }

        Summary.WriteJsonLine(new
        {
            scenario,
            ladder_kbps = PlayersScenario.Rungs.Select(r => r.Kbps),
            lowest_variant_bandwidth_kbps = Math.Round(lowestBandwidth / 1000),
            segment_s = options.Segment,
            title_s = options.Seconds,
            appliances = options.Appliances,
            cases = cases.Select(c => new
            {
                sessions = c.Sessions,
                trace = c.Trace,
                rule = c.Rule,
                players = c.Players,
                failed = c.Failed,
                rebuffer_ratio = Round(c.RebufferRatio, 5),
                steering_p95_ms = Round(c.SteeringP95Ms, 0),
                ttff_p95_ms = Round(c.TtffP95Ms, 0),
                avg_bitrate_kbps = Round(c.AverageBitrateKbps, 0),
                switches_per_min = Round(c.SwitchesPerMinute, 2),
                link_efficiency = Round(c.LinkEfficiency, 3),
            }),
            runs = runs.Select(r => new
            {
                sessions = r.Sessions,
                wall_s = Math.Round(r.WallSeconds, 1),
                server_cpu_cores = Math.Round(r.ServerCpuFraction, 2),
                swarm_cpu_cores = Math.Round(r.ClientCpuFraction, 2),
                startup_s = Math.Round(r.StartupSeconds, 1),
                startup_server_cpu_cores = Math.Round(r.StartupServerCpuFraction, 2),
                startup_swarm_cpu_cores = Math.Round(r.StartupClientCpuFraction, 2),
                load_average = r.LoadAverage,
            }),
            goal_floor_no_rebuffer = floorMet,
            goal_variable_under_1pct = variableMet,
        });
        return 0;
    }

    private static string F(double value, string format) => double.IsNaN(value) ? "-" : value.ToString(format, CultureInfo.InvariantCulture);

    private static double? Round(double value, int digits) => double.IsNaN(value) ? null : Math.Round(value, digits);
}
