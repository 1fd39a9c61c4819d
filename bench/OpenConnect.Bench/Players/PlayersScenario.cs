using System.Diagnostics;
using System.Globalization;
using OpenConnect.Bench.Ttff;

namespace OpenConnect.Bench.Players;

/// <summary>
/// A swarm of headless players through steering and two appliances: each session plays a 4-rung
/// title (2 s segments) through its own trace-replaying bandwidth limiter with one of two ABR
/// rules, and the swarm reports rebuffer ratio, average bitrate, switches per minute and TTFF p95
/// per (concurrency, trace, rule). Servers are pinned to core 0, the swarm to core 1.
/// </summary>
public sealed class PlayersScenario : IScenario
{
    /// <summary>The packaged ladder: 240p to 720p, each twice the one below.</summary>
    internal static readonly IReadOnlyList<VideoRung> Rungs = [new(426, 240, 300), new(640, 360, 600), new(960, 540, 1200), new(1280, 720, 2400)];

    public string Name => "players";

    public string Description => "headless player swarm (seed ABR vs BOLA) through steering + appliances over replayed traces";

    public string Usage => """
        bench players [--sessions 50,200,1000] [--all-traces-up-to N] [--seconds S] [--segment S]
                      [--appliances N] [--titles N] [--start-rate N] [--seed N]
                      [--zipf A] [--watch-mean S] [--record-trace PATH]
          --sessions           concurrent sessions per case, comma-separated (default 50,200,1000)
          --all-traces-up-to   cases up to this many sessions replay every trace; larger ones the
                               mobile set and the floor trace only (default 200)
          --seconds S          title length (default 120)
          --segment S          segment duration, 2 to 4 (default 2)
          --appliances N       appliances in the site (default 2)
          --titles N           copies of the title under different ids, so steering spreads
                               sessions over the appliances (default 4)
          --start-rate N       sessions started per second, evenly (default 20: 1,000 sessions
                               start over 50 s and then all play together)
          --seed N             trace seed (default 42)
          --zipf A             pick each session's title by a Zipf law of exponent A over the
                               titles' ranks (seeded by --seed); default 0: round-robin
          --watch-mean S       sessions leave after an exponentially drawn watch time of mean
                               S seconds (a draw past the title's end plays it whole); default 0:
                               every session plays the whole title
          --record-trace PATH  run the appliances with their JSON access log on, skip the warm-up,
                               and write the swarm's requests, every appliance's merged in time
                               order, to PATH (each appliance's own log beside it as
                               PATH.<appliance>); replay with `cache-sim --trace access:PATH`
        Within a case the sessions are dealt round-robin over (trace, rule), so both rules meet the
        same load. Needs a Release build, ffmpeg and taskset.
        """;

    public async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var o = PlayersOptions.Parse(args);
        var taskset = TtffScenario.Find("taskset") ?? throw new BenchUsageException("taskset not found; apt-get install -y util-linux");
        if (TtffScenario.Find("ffmpeg") is null)
        {
            throw new BenchUsageException("ffmpeg not found; apt-get install -y ffmpeg");
        }

        var root = TtffScenario.FindRepoRoot();
        var work = Path.Combine(Path.GetTempPath(), $"openconnect-players-{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        try
        {
            var package = Path.Combine(work, "package");
            var packaging = Stopwatch.StartNew();
            await TitlePackager.PackageAsync(package, o.Seconds, Rungs, o.Segment, cancellationToken).ConfigureAwait(false);
            Console.WriteLine(FormattableString.Invariant($"packaged {o.Seconds} s, {Rungs.Count} video rungs + audio, {o.Segment} s segments in {packaging.Elapsed.TotalSeconds:F0} s"));

            string[] titles = [.. Enumerable.Range(0, o.Titles).Select(i => $"players-{i}")];
            // Recording: each appliance logs to its own file, merged once they have stopped (and flushed).
            var logs = new List<string>();
            Func<string, IEnumerable<string>>? recording = o.RecordTrace is { } tracePath
                ? appliance =>
                {
                    // Called for every role but steering; only appliances serve the swarm's segments.
                    if (appliance == OpenConnect.Launcher.Layout.FleetLayout.Origin)
                    {
                        return [];
                    }

                    logs.Add(RecordedTrace.LogPath(tracePath, appliance));
                    return RecordedTrace.ApplianceSettings(tracePath, appliance);
                }
            : null;
            var stack = await SteeredStack.StartAsync(root, taskset, work, package, titles, o.Appliances, cancellationToken, recording).ConfigureAwait(false);
            double lowest;
            var runs = new List<SwarmRun>();
            try
            {
                if (o.RecordTrace is null)
                {
                    // A recorded trace starts cold: warming would put every file of every title in it.
                    await stack.WarmAsync(package, cancellationToken).ConfigureAwait(false);
                }

                Console.WriteLine($"stack: {stack} (servers pinned to CPU 0, swarm to CPU 1)");
                if (OperatingSystem.IsLinux())
                {
                    Process.GetCurrentProcess().ProcessorAffinity = 1 << 1;
                }

                lowest = await LowestBandwidthAsync(stack.SteeringUrl, titles[0], cancellationToken).ConfigureAwait(false);
                var swarm = new Swarm(stack, titles, o);
                foreach (var sessions in o.Sessions)
                {
                    var traces = TraceSet(sessions <= o.AllTracesUpTo, lowest, o.Seconds);
                    var run = await swarm.RunAsync(sessions, traces, cancellationToken).ConfigureAwait(false);
                    runs.Add(run);
                    Console.WriteLine(FormattableString.Invariant(
                        $"{sessions} sessions: {run.WallSeconds:F0} s; roles (CPU 0) used {run.ServerCpuFraction:P0} of a core, the swarm (CPU 1) {run.ClientCpuFraction:P0}; in the first {run.StartupSeconds:F0} s (start-up) {run.StartupServerCpuFraction:P0} and {run.StartupClientCpuFraction:P0}; {run.RoleCpu}; load average {run.LoadAverage:F1}"));
                }
            }
            finally
            {
                await stack.DisposeAsync().ConfigureAwait(false);
            }

            if (o.RecordTrace is { } path)
            {
                var shape = RecordedTrace.Merge(path, logs);
                var left = runs.Sum(r => r.Results.Count(s => s.Stopped));
                Console.WriteLine(FormattableString.Invariant($"trace {path}: {runs.Sum(r => r.Sessions):N0} sessions ({left:N0} left early), {shape}; replay: cache-sim --trace access:{path}"));
            }

            return PlayersReport.Write(Name, runs, lowest, o);
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException ex)
            {
                Console.Error.WriteLine($"bench players: could not remove {work}: {ex.Message}");
            }
        }
    }

    /// <summary>
    /// The traces of a case: steady, step-down and variable for the mobile link (and the cable link
    /// when <paramref name="all"/>), plus the floor: steady at 1.2x the lowest rung. Traces span the
    /// title's length (the step-down's thirds are thirds of the title); the last second holds after.
    /// </summary>
    internal static IReadOnlyList<Func<int, NetworkTrace>> TraceSet(bool all, double lowestBandwidth, int seconds)
    {
        var set = new List<Func<int, NetworkTrace>>
        {
            _ => TraceGenerator.Floor(1.2 * lowestBandwidth, seconds, LinkProfile.Mobile.RoundTrip),
        };
        foreach (var link in all ? new[] { LinkProfile.Mobile, LinkProfile.Cable } : [LinkProfile.Mobile])
        {
            set.Add(_ => TraceGenerator.Steady(link, seconds));
            set.Add(_ => TraceGenerator.StepDown(link, seconds));
            set.Add(seed => TraceGenerator.Variable(link, seconds, seed));
        }

        return set;
    }

    private static async Task<double> LowestBandwidthAsync(string steeringUrl, string title, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var text = await http.GetStringAsync($"{steeringUrl}/play/{title}/master.m3u8", cancellationToken).ConfigureAwait(false);
        return VariantLadder.Parse(text).Bitrates[0];
    }
}

/// <summary>The options of <c>bench players</c>.</summary>
/// <remarks>
/// <see cref="RecordTrace"/>: where the swarm's requests are written as one JSON access log (<c>--record-trace</c>); null: not recorded.
/// <see cref="Zipf"/>: exponent of the Zipf law that picks each session's title by rank (<c>--zipf</c>); 0: titles dealt round-robin.
/// <see cref="WatchMeanSeconds"/>: mean of the exponential watch time after which a session leaves (<c>--watch-mean</c>); 0: every session plays its title to the end.
/// </remarks>
public sealed record PlayersOptions(int[] Sessions, int AllTracesUpTo, int Seconds, int Segment, int Appliances, int Titles, int StartRate, int Seed, string? RecordTrace = null, double Zipf = 0, double WatchMeanSeconds = 0)
{
    public static PlayersOptions Parse(IReadOnlyList<string> args)
    {
        var sessions = new[] { 50, 200, 1000 };
        string? recordTrace = null;
        var reals = new Dictionary<string, double> { ["--zipf"] = 0, ["--watch-mean"] = 0 };
        var numbers = new Dictionary<string, int>
        {
            ["--all-traces-up-to"] = 200,
            ["--seconds"] = 120,
            ["--segment"] = 2,
            ["--appliances"] = 2,
            ["--titles"] = 4,
            ["--start-rate"] = 20,
            ["--seed"] = 42,
        };
        for (var i = 0; i < args.Count; i += 2)
        {
            if (i + 1 >= args.Count)
            {
                throw new BenchUsageException($"'{args[i]}' needs a value");
            }

            if (args[i] == "--sessions")
            {
                var parts = args[i + 1].Split(',', StringSplitOptions.RemoveEmptyEntries);
                sessions = new int[parts.Length];
                for (var p = 0; p < parts.Length; p++)
                {
                    if (!int.TryParse(parts[p], NumberStyles.None, CultureInfo.InvariantCulture, out sessions[p]) || sessions[p] < 1)
                    {
                        throw new BenchUsageException($"--sessions: '{parts[p]}' is not a positive number");
                    }
                }
            }
            else if (args[i] == "--record-trace")
            {
                recordTrace = args[i + 1].Length > 0 ? args[i + 1] : throw new BenchUsageException("--record-trace needs a file path");
            }
            else if (reals.ContainsKey(args[i]))
            {
                reals[args[i]] = double.TryParse(args[i + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && double.IsFinite(real) && real >= 0
                    ? real
                    : throw new BenchUsageException($"{args[i]}: '{args[i + 1]}' is not a number >= 0");
            }
            else if (numbers.ContainsKey(args[i]) && int.TryParse(args[i + 1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            {
                numbers[args[i]] = value;
            }
            else
            {
                throw new BenchUsageException($"unknown option or bad number: '{args[i]} {args[i + 1]}'");
            }
        }

        var o = new PlayersOptions(sessions, numbers["--all-traces-up-to"], numbers["--seconds"], numbers["--segment"], numbers["--appliances"], numbers["--titles"], numbers["--start-rate"], numbers["--seed"], recordTrace, reals["--zipf"], reals["--watch-mean"]);
        if (o.Sessions.Length == 0 || o.Seconds < 10 || o.Segment is < 2 or > 4 || o.Appliances < 1 || o.Titles < 1 || o.StartRate < 1)
        {
            throw new BenchUsageException("need --sessions, --seconds >= 10, --segment 2..4, --appliances >= 1, --titles >= 1, --start-rate >= 1");
        }

        return o;
    }
}
