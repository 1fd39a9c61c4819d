using System.Collections.Concurrent;
using System.Globalization;

namespace OpenConnect.Steering.Play;

/// <summary>
/// Counts plays (<c>/play/{title}</c> decisions that answered 200 or a redirect, at most one per
/// client prefix and title a day: <see cref="PlayDeduplication"/>) per (site, title, UTC day) in
/// memory for the fill controller, which reads them with <c>GET /history/plays</c> on the control
/// listener (mutual TLS; its <c>openconnect://fill-controller</c> certificate or an operator's, see <c>FleetGate</c>).
/// Bounded: <see cref="RetainedDays"/> days and at most <see cref="MaxEntries"/> keys (plays of
/// keys beyond that are counted as dropped, not stored). A restart starts from zero under a new
/// <see cref="Instance"/> id, so the collector stores each instance's counts apart and never mixes
/// a fresh count with an older one.
/// </summary>
public sealed class PlayHistory(TimeProvider time, int maxEntries = PlayHistory.MaxEntries)
{
    public const int RetainedDays = 16;
    public const int MaxEntries = 250_000;
    public const string Route = "/history/plays";

    private readonly ConcurrentDictionary<(string Site, string Title, DateOnly Day), Counter> _counts = new();
    private long _dropped;
    private int _count;
    private DateOnly _pruned;

    /// <summary>Identifies this process's counts (new at every start).</summary>
    public string Instance { get; } = Guid.NewGuid().ToString("N");

    /// <summary>Plays not stored because the table was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public void Record(string site, string title)
    {
        var day = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        if (day != _pruned)
        {
            Prune(day);
        }

        var key = (site, title, day);
        if (!_counts.TryGetValue(key, out var counter))
        {
            if (Volatile.Read(ref _count) >= maxEntries)
            {
                Interlocked.Increment(ref _dropped);
                return;
            }

            var fresh = new Counter();
            counter = _counts.GetOrAdd(key, fresh);
            if (ReferenceEquals(counter, fresh))
            {
                Interlocked.Increment(ref _count);
            }
        }

        Interlocked.Increment(ref counter.Plays);
    }

    /// <summary>Counts for days from <paramref name="since"/> on, ordered by day, site and title.</summary>
    public IReadOnlyList<PlayCountView> Since(DateOnly since) => _counts
        .Where(p => p.Key.Day >= since)
        .Select(p => new PlayCountView(p.Key.Site, p.Key.Title, p.Key.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), Interlocked.Read(ref p.Value.Plays)))
        .OrderBy(p => p.Day, StringComparer.Ordinal).ThenBy(p => p.Site, StringComparer.Ordinal).ThenBy(p => p.Title, StringComparer.Ordinal)
        .ToList();

    private void Prune(DateOnly today)
    {
        _pruned = today;
        var oldest = today.AddDays(-RetainedDays + 1);
        foreach (var key in _counts.Keys)
        {
            if (key.Day < oldest && _counts.TryRemove(key, out _))
            {
                Interlocked.Decrement(ref _count);
            }
        }
    }

    private sealed class Counter
    {
        public long Plays;
    }
}

/// <summary>One row of <c>GET /history/plays</c>.</summary>
public sealed record PlayCountView(string Site, string Title, string Day, long Plays);

/// <summary>
/// <c>GET /history/plays?since=yyyy-MM-dd</c> (control listener only): the plays <see cref="PlayHistory"/> counted (<c>/play/{title}</c>
/// records them), with <c>repeats</c> and <c>uncounted</c>, the plays <see cref="PlayDeduplication"/> left out.
/// </summary>
public static class PlayHistoryEndpoints
{
    public static WebApplication MapPlayHistory(this WebApplication app)
    {
        var history = app.Services.GetRequiredService<PlayHistory>();
        var dedupe = app.Services.GetRequiredService<PlayDeduplication>();
        app.MapGet(PlayHistory.Route, (HttpContext context) =>
        {
            var text = context.Request.Query["since"].ToString();
            var since = DateOnly.MinValue;
            if (text.Length > 0 && !DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out since))
            {
                return Results.Json(new { error = $"since must be a date as yyyy-MM-dd, not '{text}'" }, statusCode: StatusCodes.Status400BadRequest);
            }

            context.Response.Headers.CacheControl = "no-store";
            return Results.Json(new { instance = history.Instance, dropped = history.Dropped, repeats = dedupe.Repeats, uncounted = dedupe.Uncounted, plays = history.Since(since) });
        });
        return app;
    }
}
