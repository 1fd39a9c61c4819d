using System.Collections.Concurrent;
using System.Globalization;
using OpenConnect.Bench.Players;

namespace OpenConnect.Bench.Fleet;

/// <summary>
/// <c>bench fleet players …</c>, run by <c>bench fleet</c> inside a client host's namespace: keeps
/// <c>--sessions</c> headless players busy for <c>--seconds</c> (each plays the title through
/// steering with pathway failover, to the end of its buffer, and a new session starts when one
/// ends; one second's pause after a failed start), then prints one JSON line: the <see cref="PlayersSummary"/>.
/// <c>--steering</c> may name several steering replicas (comma-separated): sessions start on them in
/// turn, and a request to a replica that refuses the connection goes to the next one
/// (<see cref="SteeringFailoverHandler"/>, as a browser does with a name of several addresses).
/// </summary>
internal static class FleetPlayersCommand
{
    public const string Name = "players";

    public static async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        List<string>? steering = null;
        string? title = null, client = null;
        int sessions = 0, seconds = 0;
        foreach (var (name, value) in BenchArgs.Pairs(args))
        {
            switch (name)
            {
                case "--steering":
                    steering = [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(u => u.TrimEnd('/'))];
                    break;
                case "--title":
                    title = value;
                    break;
                case "--client":
                    client = value;
                    break;
                case "--sessions":
                    sessions = Number(name, value);
                    break;
                case "--seconds":
                    seconds = Number(name, value);
                    break;
                default:
                    throw new BenchUsageException($"fleet players: unknown option '{name}'");
            }
        }

        if (steering is not { Count: > 0 } || title is null || client is null || sessions < 1 || seconds < 1)
        {
            throw new BenchUsageException("fleet players needs --steering URL[,URL...] --title ID --client NAME --sessions N --seconds S");
        }

        var results = await PlayAsync(steering, title, sessions, TimeSpan.FromSeconds(seconds), cancellationToken).ConfigureAwait(false);
        Console.Out.WriteLine(PlayersSummary.Of(client, results).ToJson());
        return 0;
    }

    /// <summary>
    /// Runs the sessions. The slots start evenly over the first quarter of the run (at most 30 s),
    /// so that at any time some sessions are fetching (a session fetches its title's first 30 s at
    /// once, then one segment per segment duration, then only plays its buffer out): an incident
    /// meets sessions at every stage.
    /// </summary>
    public static async Task<IReadOnlyList<SessionResult>> PlayAsync(IReadOnlyList<string> steeringUrls, string title, int slots, TimeSpan duration, CancellationToken cancellationToken)
    {
        using var sockets = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = int.MaxValue,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            ConnectTimeout = PathwayFailover.Default.RequestTimeout,
            UseCookies = false,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
        };
        using var handler = new SteeringFailoverHandler([.. steeringUrls.Select(u => new Uri(u))], sockets);
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
        using var stop = new CancellationTokenSource(duration);
        var results = new ConcurrentQueue<SessionResult>();
        var ramp = Math.Min(30, duration.TotalSeconds / 4);
        var rule = new ThroughputRule();
        var trace = TraceGenerator.Steady(LinkProfile.Cable, 10);
        var tasks = Enumerable.Range(0, slots).Select(async slot =>
        {
            await Task.Delay(TimeSpan.FromSeconds(ramp * slot / slots), cancellationToken).ConfigureAwait(false);
            var played = 0;
            while (!stop.IsCancellationRequested)
            {
                var session = new PlayerSession(http, steeringUrls[(slot + played) % steeringUrls.Count], title, trace, rule, PathwayFailover.Default, playOut: true);
                var result = await session.RunAsync(cancellationToken, stop.Token).ConfigureAwait(false);
                results.Enqueue(result);
                played++;
                if (result.Error is not null && result.TtffMs is null && !stop.IsCancellationRequested)
                {
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:HH:mm:ss.f} slot {slot} session {played}: failed to start: {result.Error}"));
                    try
                    {
                        await Task.Delay(TimeSpan.FromSeconds(1), stop.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested)
                    {
                    }
                }
            }
        }).ToArray();
        await Task.WhenAll(tasks).ConfigureAwait(false);
        if (steeringUrls.Count > 1)
        {
            // The scenario prints what the players said: how often a refused steering replica was passed over.
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"steering requests moved to another replica after a refused connection: {handler.Failovers}"));
        }

        return [.. results];
    }

    private static int Number(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new BenchUsageException($"{name}: '{value}' is not a positive number");
}
