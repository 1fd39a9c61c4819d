using System.Data.Common;
using Microsoft.Extensions.Options;
using Prometheus;

namespace OpenConnect.Origin.Catalog.Titles;

/// <summary>
/// Eventually consistent view counts. A play is recorded in memory (deduplicated per title and
/// viewer session) and written in one transaction every <c>Origin:Catalog:ViewFlushInterval</c>
/// and on a clean stop. The database keeps every counted session, so a session is counted once
/// ever, even across restarts. A crash loses at most the plays of the last interval.
/// </summary>
public sealed partial class ViewCounter : BackgroundService, IHostedLifecycleService
{
    private readonly object _gate = new();
    private readonly CatalogDatabase _database;
    private readonly TitleCache _cache;
    private readonly TimeSpan _interval;
    private readonly TimeProvider _time;
    private readonly ILogger<ViewCounter> _logger;
    private readonly Counter _flushed;
    private Dictionary<(long Seq, string TitleId), HashSet<string>> _pending = [];

    public ViewCounter(CatalogDatabase database, TitleCache cache, IOptions<OriginOptions> options, TimeProvider time, IMetricFactory metrics, ILogger<ViewCounter> logger)
    {
        _database = database;
        _cache = cache;
        _interval = options.Value.Catalog.ViewFlushInterval;
        _time = time;
        _logger = logger;
        _flushed = metrics.CreateCounter("openconnect_catalog_views_flushed_total", "Plays written to the catalog database by the view counter.");
    }

    public static bool IsValidSession(string? session) =>
        session is { Length: >= 8 and <= 128 } && session.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    public void Record(long seq, string titleId, string session)
    {
        lock (_gate)
        {
            if (!_pending.TryGetValue((seq, titleId), out var sessions))
            {
                sessions = new HashSet<string>(StringComparer.Ordinal);
                _pending[(seq, titleId)] = sessions;
            }

            sessions.Add(session);
        }
    }

    /// <summary>Writes what has been recorded so far; returns the number of newly counted plays.</summary>
    public async Task<int> FlushAsync(CancellationToken ct)
    {
        Dictionary<(long Seq, string TitleId), HashSet<string>> batch;
        lock (_gate)
        {
            if (_pending.Count == 0)
            {
                return 0;
            }

            batch = _pending;
            _pending = [];
        }

        try
        {
            var counted = await _database.WriteAsync((connection, transaction) => Write(connection, transaction, batch), ct);
            foreach (var key in batch.Keys)
            {
                _cache.Invalidate(key.TitleId);
            }

            _flushed.Inc(counted);
            return counted;
        }
        catch
        {
            // Put the batch back so the next flush retries it.
            lock (_gate)
            {
                foreach (var (key, sessions) in batch)
                {
                    if (_pending.TryGetValue(key, out var current))
                    {
                        current.UnionWith(sessions);
                    }
                    else
                    {
                        _pending[key] = sessions;
                    }
                }
            }

            throw;
        }
    }

    private static int Write(DbConnection connection, DbTransaction transaction, Dictionary<(long Seq, string TitleId), HashSet<string>> batch)
    {
        using var insert = connection.Command("INSERT INTO view_sessions (seq, session) VALUES (@s, @v) ON CONFLICT DO NOTHING;", transaction);
        var seqParameter = insert.Parameter("@s");
        var sessionParameter = insert.Parameter("@v");
        using var update = connection.Command("UPDATE titles SET views = views + @n WHERE seq = @s;", transaction);
        var countParameter = update.Parameter("@n");
        var updateSeq = update.Parameter("@s");
        var total = 0;
        var changed = new List<string>();
        foreach (var ((seq, titleId), sessions) in batch)
        {
            var added = 0;
            seqParameter.Value = seq;
            foreach (var session in sessions)
            {
                sessionParameter.Value = session;
                added += insert.ExecuteNonQuery();
            }

            if (added > 0)
            {
                countParameter.Value = (long)added;
                updateSeq.Value = seq;
                update.ExecuteNonQuery();
                PublishedTitles.RefreshHotScore(connection, transaction, seq);
                total += added;
                changed.Add(titleId);
            }
        }

        PostgresCatalogRelay.TitlesChanged(connection, transaction, changed);

        return total;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await FlushAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is DbException or IOException)
                {
                    LogFlushFailed(ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync(CancellationToken.None);
    }

    /// <summary>
    /// Runs after every hosted service has stopped, the web server included (it stops last, after
    /// draining its requests): plays recorded during the drain are written here, so a clean stop
    /// loses nothing.
    /// </summary>
    public Task StoppedAsync(CancellationToken cancellationToken) => FlushAsync(CancellationToken.None);

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 7101, Level = LogLevel.Warning, Message = "view count flush failed; the batch is kept for the next flush")]
    private partial void LogFlushFailed(Exception ex);
}
