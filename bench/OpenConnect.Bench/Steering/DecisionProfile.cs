using System.Diagnostics;
using System.Net;
using OpenConnect.Contracts.Placement;
using OpenConnect.Steering;
using OpenConnect.Steering.ControlPlane;
using OpenConnect.Steering.Prefixes;
using OpenConnect.Steering.Selection;
using OpenConnect.Steering.Signing;

namespace OpenConnect.Bench.Steering;

/// <summary>
/// Part of <c>bench steering</c>: where a default-mode decision's time goes. The same requests run
/// through growing prefixes of the decision (prefix lookup; + the registry's site and holder indexes;
/// + ranking; + the token; the whole <see cref="SteeringDecisions.Decide"/> with its pathway URLs),
/// each timed in process CPU time; a step's cost is the difference to the one before.
/// </summary>
public static class DecisionProfile
{
    /// <summary>One cumulative stage: CPU microseconds per decision up to and including it.</summary>
    public sealed record Stage(string Name, double Microseconds, double StepMicroseconds);

    public static IReadOnlyList<Stage> Measure(ApplianceRegistry registry, PrefixTable table, TokenIssuer tokens, TimeProvider clock, SteeringOptions options, (string Title, IPAddress Client)[] requests)
    {
        var now = clock.GetUtcNow();
        var policy = new SelectionPolicy(options.HeartbeatExpiry, options.MaxLoadFraction, options.Pathways, options.LoadSheddingStart);
        var chosen = new ApplianceView?[PathwaySelector.MaxPathways];
        var decisions = new SteeringDecisions(registry, () => table, tokens, clock, options);
        var sink = 0L;
        var stages = new (string Name, Action<string, IPAddress> Run)[]
        {
            ("prefix lookup", (_, client) => sink += (table.Lookup(client) ?? options.DefaultSite).Length),
            ("+ site and holder indexes, title hash", (title, client) =>
            {
                var site = table.Lookup(client) ?? options.DefaultSite;
                sink += registry.Members(site).Length + registry.Holders(title, out var id).Length + id + (long)(Rendezvous.HashTitle(title) & 1);
            }),
            ("+ ranking", (title, client) => sink += Rank(title, client)),
            ("+ v2 token", (title, client) =>
            {
                var n = Rank(title, client);
                sink += tokens.Issue(title, client, now, chosen.AsSpan(0, n)).Token.Length;
            }),
            ("+ pathway URLs (Decide)", (title, client) => sink += decisions.Decide(title, client).Pathways.Count),
        };

        var result = new List<Stage>();
        var previous = 0.0;
        foreach (var (name, run) in stages)
        {
            foreach (var (title, client) in requests.AsSpan(0, Math.Min(requests.Length, 20_000)))
            {
                run(title, client);
            }

            var process = Process.GetCurrentProcess();
            var before = process.TotalProcessorTime;
            foreach (var (title, client) in requests)
            {
                run(title, client);
            }

            process.Refresh();
            var microseconds = (process.TotalProcessorTime - before).TotalMilliseconds * 1000 / requests.Length;
            result.Add(new Stage(name, microseconds, microseconds - previous));
            previous = microseconds;
        }

        GC.KeepAlive(sink);
        return result;

        int Rank(string title, IPAddress client)
        {
            var site = table.Lookup(client) ?? options.DefaultSite;
            var holders = registry.Holders(title, out var titleId);
            return PathwaySelector.Rank(title, Rendezvous.HashTitle(title), titleId, site, registry.Members(site), holders, now, policy, chosen);
        }
    }

    public static Table Report(IReadOnlyList<Stage> stages)
    {
        var report = new Table("decision profile (cumulative)", "µs/decision (CPU)", "this step µs");
        foreach (var stage in stages)
        {
            report.Add(stage.Name, stage.Microseconds, stage.StepMicroseconds);
        }

        return report;
    }
}
