using System.Diagnostics;
using System.Globalization;
using OpenConnect.Bench.Throughput;
using OpenConnect.Launcher.Layout;
using OpenConnect.Testing;
using OpenConnect.Testing.Fleet;

namespace OpenConnect.Bench.Fleet;

/// <summary>
/// The player swarm across the multi-host bed under chaos (<see cref="FleetOptions.Usage"/>). The
/// bed is <see cref="FleetBed"/> from the test helpers (the same launcher the fleet tests use);
/// players run as <c>bench fleet players</c> child processes inside the client namespaces, because
/// the root namespace cannot reach the bed.
/// </summary>
public sealed class FleetScenario : IScenario
{
    public const string NotRootMessage = "needs root: network namespaces (the multi-host bed); run as root";

    public string Name => "fleet";

    public string Description => "player swarm across the multi-host bed while appliances are killed, partitioned and stopped";

    public string Usage => FleetOptions.Usage;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        if (args.Count > 0 && args[0] == FleetPlayersCommand.Name)
        {
            return await FleetPlayersCommand.RunAsync([.. args.Skip(1)], cancellationToken).ConfigureAwait(false);
        }

        var options = FleetOptions.Parse(args);
        if (!FleetBed.IsRoot)
        {
            throw new BenchUsageException(NotRootMessage);
        }

        var result = await RunAsync(options, Console.Out, cancellationToken).ConfigureAwait(false);
        Console.Out.Write(FleetReport.Table(result));
        Summary.WriteJsonLine(FleetReport.Json(result));
        return 0;
    }

    /// <summary>The whole run: bed, title, players and chaos; progress goes to <paramref name="log"/>.</summary>
    public static async Task<FleetResult> RunAsync(FleetOptions options, TextWriter log, CancellationToken cancellationToken)
    {
        var benchDll = BenchDll();
        var loadBefore = Players.Swarm.LoadAverage();
        var clock = Stopwatch.StartNew();
        var source = await SampleMedia.GetAsync(new SampleSpec(string.Create(CultureInfo.InvariantCulture, $"testsrc2-360p-{options.TitleSeconds}s"), 640, 360, options.TitleSeconds, "mp4")).ConfigureAwait(false);
        await using var bed = await FleetBed.StartAsync(options.SteeringReplicas).ConfigureAwait(false);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bed {bed.Prefix} up in {clock.Elapsed.TotalSeconds:F0} s (load average {loadBefore:F1} before)"));
        clock.Restart();
        var title = await bed.PublishAsync(source).ConfigureAwait(false);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"published {title} ({options.TitleSeconds} s, {FleetLaunch.SegmentSeconds} s segments) through the origin's pipeline in {clock.Elapsed.TotalSeconds:F0} s"));

        // Each site's appliances, the one steering sends the title's sessions to first.
        var sites = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (site, (appliances, client, _)) in FleetLaunch.Sites)
        {
            var serving = FleetBed.PathwayIds(await bed.PlayAsync(client, title).ConfigureAwait(false)).FirstOrDefault(appliances.Contains);
            sites[site] = [.. appliances.OrderBy(a => a == serving ? 0 : 1).ThenBy(a => a, StringComparer.Ordinal)];
            log.WriteLine($"{site}: {client}'s plays go to {serving ?? "none of its appliances"}");
        }

        var incidents = options.Chaos ? ChaosSchedule.Create(options.Seconds, options.Seed, sites) : [];
        log.WriteLine(options.Chaos ? $"chaos schedule (seed {options.Seed}):" : "chaos off (baseline)");
        foreach (var incident in incidents)
        {
            log.WriteLine("  " + incident.Describe());
        }

        var counters = new ApplianceCounters(bed);
        await counters.ReadAllAsync().ConfigureAwait(false);
        using var polling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var poll = counters.PollAsync(TimeSpan.FromSeconds(2), polling.Token);
        var chaos = new ChaosRunner(bed, counters.Down, counters.Up);

        var steering = bed.Layout.SteeringReplicas.Select(r => bed.SteeringInstance(r).BaseUrl).ToList();
        if (steering.Count > 1)
        {
            log.WriteLine($"steering replicas: {string.Join(", ", steering)}; players start on them in turn and move on when one refuses");
        }

        if (options.KillSteeringAt is { } killAt)
        {
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  kill -9 {FleetLayout.Steering} at {killAt} s (it stays down)"));
        }

        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{options.Sessions} players per client host for {options.Seconds} s"));
        var run = Stopwatch.StartNew();
        var children = FleetLaunch.Sites.Select(s => (Site: s.Key, Client: s.Value.Client, Process: ChildProcess.Start("ip",
        [
            "netns", "exec", bed.Host(s.Value.Client).Namespace!, "dotnet", benchDll, "fleet", FleetPlayersCommand.Name,
            "--steering", string.Join(',', steering), "--title", title, "--client", s.Value.Client,
            "--sessions", options.Sessions.ToString(CultureInfo.InvariantCulture), "--seconds", options.Seconds.ToString(CultureInfo.InvariantCulture),
        ]))).ToList();
        var summaries = new List<(string Site, PlayersSummary Players)>();
        try
        {
            var killSteering = options.KillSteeringAt is { } at ? chaos.KillSteeringAsync(FleetLayout.Steering, at, cancellationToken) : Task.CompletedTask;
            await chaos.RunAsync(incidents, run, options.Seconds, cancellationToken).ConfigureAwait(false);
            await killSteering.ConfigureAwait(false);
            foreach (var child in children)
            {
                await child.Process.WaitForExitAsync(TimeSpan.FromSeconds(options.Seconds + 120), cancellationToken).ConfigureAwait(false);
                var json = child.Process.Output.Split('\n').LastOrDefault(l => l.StartsWith('{'));
                if (child.Process.ExitCode != 0 || json is null)
                {
                    throw new InvalidOperationException($"the players in {child.Client} exited {child.Process.ExitCode} without a summary:\n{Tail(child.Process.Output)}");
                }

                summaries.Add((child.Site, PlayersSummary.FromJson(json)));
                var stderr = child.Process.Output.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('{')).ToList();
                if (stderr.Count > 0)
                {
                    log.WriteLine($"players in {child.Client} said ({stderr.Count} lines, last 10):");
                    foreach (var line in stderr.TakeLast(10))
                    {
                        log.WriteLine("  " + line);
                    }
                }
            }
        }
        finally
        {
            foreach (var child in children)
            {
                await child.Process.DisposeAsync().ConfigureAwait(false);
            }

            await polling.CancelAsync().ConfigureAwait(false);
            await poll.ConfigureAwait(false);
        }

        await counters.ReadAllAsync().ConfigureAwait(false);
        var hosts = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [Authority(bed.Host("origin").Url(FleetLaunch.OriginPort))] = FleetResult.Origin,
        };
        foreach (var url in steering)
        {
            hosts[Authority(url)] = FleetResult.Steering;
        }

        foreach (var id in bed.Appliances.Keys)
        {
            hosts[Authority(bed.Host(id).Url(FleetLaunch.AppliancePort))] = id;
        }

        return new FleetResult(
            options,
            title,
            incidents,
            chaos.Events,
            summaries,
            hosts,
            counters.Total(ApplianceCounters.Upstream),
            counters.Total(ApplianceCounters.Fill),
            run.Elapsed.TotalSeconds,
            loadBefore,
            Players.Swarm.LoadAverage());
    }

    private static string Authority(string url) => new Uri(url).Authority;

    private static string Tail(string output) => string.Join('\n', output.Split('\n').TakeLast(20));

    /// <summary>
    /// The bench's own dll for the child processes: this assembly when it runs as the bench (its
    /// runtimeconfig beside it), else the bench's build output in the repository (from a test).
    /// </summary>
    public static string BenchDll()
    {
        var own = typeof(FleetScenario).Assembly.Location;
        if (File.Exists(Path.ChangeExtension(own, ".runtimeconfig.json")))
        {
            return own;
        }

        // From a test: the bench project's output of the same configuration as the test's.
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent?.Name ?? "Release";
        var built = Path.Combine(FleetBed.RepositoryRoot, "bench", "OpenConnect.Bench", "bin", configuration, "net10.0", "OpenConnect.Bench.dll");
        return File.Exists(built) ? built : throw new FileNotFoundException($"{built} is missing: build the bench first (dotnet build bench/OpenConnect.Bench -c {configuration})", built);
    }
}
