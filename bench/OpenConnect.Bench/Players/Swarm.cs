using System.Diagnostics;
using System.Globalization;
using OpenConnect.Bench.Ttff;

namespace OpenConnect.Bench.Players;

/// <summary>One case's sessions and what the machine did meanwhile.</summary>
internal sealed record SwarmRun(
    int Sessions,
    IReadOnlyList<SessionResult> Results,
    double WallSeconds,
    double ServerCpuFraction,
    double ClientCpuFraction,
    double StartupSeconds,
    double StartupServerCpuFraction,
    double StartupClientCpuFraction,
    string RoleCpu,
    double LoadAverage);

/// <summary>
/// Starts a case's sessions at a steady rate (<see cref="PlayersOptions.StartRate"/> per second), dealt round-robin over (trace, rule) and, per
/// round, over the titles (so every cell meets every appliance), and measures the CPU the role
/// processes (core 0) and the swarm (core 1) used, over the whole case and over the start-up
/// (until 5 s after the last session started), when every new session asks steering and fetches
/// playlists and init segments. With <see cref="PlayersOptions.Zipf"/> each session's title is drawn by
/// popularity instead, and with <see cref="PlayersOptions.WatchMeanSeconds"/> sessions leave early
/// (<see cref="SessionDraw"/>).
/// </summary>
internal sealed class Swarm(SteeredStack stack, IReadOnlyList<string> titles, PlayersOptions options)
{
    public static readonly IAbrRule[] Rules = [new ThroughputRule(), new BolaRule()];

    public async Task<SwarmRun> RunAsync(int sessions, IReadOnlyList<Func<int, NetworkTrace>> traces, CancellationToken cancellationToken)
    {
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = int.MaxValue,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            UseCookies = false,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
        var before = stack.Roles.Select(r => r.Process.CpuSeconds()).ToArray();
        var self = Process.GetCurrentProcess();
        var clientBefore = self.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        var ramp = (double)sessions / options.StartRate;
        var startupSeconds = ramp + 5;
        var startup = SnapshotAfterAsync(TimeSpan.FromSeconds(startupSeconds), self, cancellationToken);
        var cells = traces.Count * Rules.Length;
        var tasks = new Task<SessionResult>[sessions];
        var draw = new SessionDraw(titles.Count, options.Zipf, options.WatchMeanSeconds, (options.Seed * 31) + sessions);
        for (var i = 0; i < sessions; i++)
        {
            var cell = i % cells;
            var trace = traces[cell / Rules.Length]((options.Seed * 100_003) + i);
            var title = options.Zipf > 0 ? titles[draw.Title()] : titles[i / cells % titles.Count];
            var session = new PlayerSession(http, stack.SteeringUrl, title, trace, Rules[cell % Rules.Length]);
            tasks[i] = StartAsync(session, TimeSpan.FromSeconds(ramp * i / sessions), draw.WatchTime(), cancellationToken);
        }

        var results = await Task.WhenAll(tasks).ConfigureAwait(false);
        var seconds = wall.Elapsed.TotalSeconds;
        var (startupServer, startupClient) = await startup.ConfigureAwait(false);
        self.Refresh();
        var used = stack.Roles.Select((r, i) => (r.Name, Seconds: r.Process.CpuSeconds() - before[i])).ToArray();
        return new SwarmRun(
            sessions,
            results,
            seconds,
            used.Sum(u => u.Seconds) / seconds,
            (self.TotalProcessorTime - clientBefore).TotalSeconds / seconds,
            startupSeconds,
            (startupServer - before.Sum()) / startupSeconds,
            (startupClient - clientBefore).TotalSeconds / startupSeconds,
            string.Join(", ", used.Select(u => string.Create(CultureInfo.InvariantCulture, $"{u.Name} {u.Seconds:F1} CPU-s"))),
            LoadAverage());
    }

    private async Task<(double ServerCpuSeconds, TimeSpan ClientCpu)> SnapshotAfterAsync(TimeSpan delay, Process self, CancellationToken cancellationToken)
    {
        await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        self.Refresh();
        return (stack.Roles.Sum(r => r.Process.CpuSeconds()), self.TotalProcessorTime);
    }

    /// <summary>Starts the session after <paramref name="delay"/>; with <paramref name="watch"/> the viewer leaves that long after the start (between segments).</summary>
    private static async Task<SessionResult> StartAsync(PlayerSession session, TimeSpan delay, TimeSpan? watch, CancellationToken cancellationToken)
    {
        await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        if (watch is not { } stayFor)
        {
            return await session.RunAsync(cancellationToken).ConfigureAwait(false);
        }

        using var leave = new CancellationTokenSource(stayFor);
        return await session.RunAsync(cancellationToken, leave.Token).ConfigureAwait(false);
    }

    internal static double LoadAverage()
    {
        try
        {
            return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return -1;
        }
    }
}
