using System.Data.Common;
using Microsoft.Extensions.Options;
using Npgsql;
using OpenConnect.Origin.Catalog.Notifications;
using OpenConnect.Origin.Catalog.Titles;
using OpenConnect.Origin.Publishing;

namespace OpenConnect.Origin.Catalog;

/// <summary>
/// Changes one origin instance makes that the others sharing a PostgreSQL catalog must hear of at
/// once: new notifications (each recipient's user id, on <see cref="NotificationsChannel"/>) and
/// changed titles (the title id, on <see cref="TitlesChannel"/>, so every instance drops its cached
/// copy), changed takedowns (the title id, on <see cref="TakedownsChannel"/>, so every instance
/// reloads its <see cref="TitleTakedowns"/>, which tells its catalog sync and its steering reports). The writing transaction sends <c>NOTIFY</c>, which PostgreSQL delivers on commit; every
/// instance keeps one connection that <c>LISTEN</c>s and hands each id to its
/// <see cref="NotificationHub"/> or <see cref="TitleCache"/>. Storing notifications takes a
/// transaction-level advisory lock, so their ids commit in increasing order and a stream that reads
/// "after id n" never passes over a row committed later. After a lost connection the relay
/// reconnects, wakes every stream, empties the title cache and reloads the takedowns once, so nothing
/// signalled meanwhile is missed. Does nothing on SQLite (one process: local signals suffice).
/// </summary>
internal sealed partial class PostgresCatalogRelay : BackgroundService
{
    public const string NotificationsChannel = "openconnect_catalog_notifications";
    public const string TitlesChannel = "openconnect_catalog_titles";
    public const string TakedownsChannel = "openconnect_catalog_takedowns";

    /// <summary>The listening connection's <c>application_name</c> (in <c>pg_stat_activity</c>) unless the connection string sets one.</summary>
    public const string ApplicationName = "openconnect-catalog-relay";

    /// <summary>The advisory lock key that orders notification inserts ("OCNOTIFY").</summary>
    private const long StoreLock = 0x4F43_4E4F_5449_4659;

    private readonly CatalogDatabase _database;
    private readonly NotificationHub _hub;
    private readonly TitleCache _cache;
    private readonly TitleTakedowns _takedowns;
    private readonly TimeProvider _time;
    private readonly ILogger<PostgresCatalogRelay> _logger;
    private readonly CatalogRelayTiming _timing;
    private readonly string? _listenConnectionString;

    public PostgresCatalogRelay(CatalogDatabase database, NotificationHub hub, TitleCache cache, TitleTakedowns takedowns, IOptions<OriginOptions> options, TimeProvider time, ILogger<PostgresCatalogRelay> logger, CatalogRelayTiming? timing = null)
    {
        _timing = timing ?? CatalogRelayTiming.Default;
        if (database.Dialect == CatalogDialect.PostgreSql)
        {
            var listen = new NpgsqlConnectionStringBuilder(options.Value.Catalog.Database.ResolveConnectionString("Origin:Catalog:Database"))
            {
                Pooling = false,
                TcpKeepAlive = true,
                KeepAlive = 15,
            };
            if (string.IsNullOrEmpty(listen.ApplicationName))
            {
                listen.ApplicationName = ApplicationName;
            }

            _listenConnectionString = listen.ConnectionString;
        }

        _database = database;
        _hub = hub;
        _cache = cache;
        _takedowns = takedowns;
        _time = time;
        _logger = logger;
    }

    /// <summary>Called before notifications are inserted, in the same transaction: waits for other instances' inserts to commit.</summary>
    public static void BeforeStore(DbConnection connection, DbTransaction transaction)
    {
        using var command = connection.Command("SELECT pg_advisory_xact_lock(@key);", transaction).With("@key", StoreLock);
        command.ExecuteNonQuery();
    }

    /// <summary>Signals every instance, on commit, that <paramref name="userIds"/> have new notifications.</summary>
    public static void Signal(DbConnection connection, DbTransaction transaction, IReadOnlyList<string> userIds) =>
        Notify(connection, transaction, NotificationsChannel, userIds);

    /// <summary>Signals every instance, on commit, that the takedowns of <paramref name="titleIds"/> changed (PostgreSQL only).</summary>
    public static void TakedownsChanged(DbConnection connection, DbTransaction transaction, IReadOnlyList<string> titleIds) =>
        Notify(connection, transaction, TakedownsChannel, titleIds);

    /// <summary>Signals every instance, on commit, that the titles <paramref name="titleIds"/> changed (no-op on SQLite).</summary>
    public static void TitlesChanged(DbConnection connection, DbTransaction transaction, IReadOnlyList<string> titleIds)
    {
        if (connection is NpgsqlConnection && titleIds.Count > 0)
        {
            Notify(connection, transaction, TitlesChannel, titleIds);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_database.Dialect != CatalogDialect.PostgreSql)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(_listenConnectionString);
                await connection.OpenAsync(stoppingToken);
                connection.Notification += (_, e) =>
                {
                    if (e.Channel == TitlesChannel)
                    {
                        _cache.Invalidate(e.Payload);
                    }
                    else if (e.Channel == TakedownsChannel)
                    {
                        // Off the listening connection's thread: the reload reads the table on another connection.
                        _ = Task.Run(ReloadTakedowns, CancellationToken.None);
                    }
                    else
                    {
                        _hub.Notify([e.Payload]);
                    }
                };
                await using (var listen = new NpgsqlCommand($"LISTEN {NotificationsChannel}; LISTEN {TitlesChannel}; LISTEN {TakedownsChannel};", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                // Whatever changed while this instance was not listening is read afresh.
                _cache.Clear();
                _hub.NotifyAll();
                ReloadTakedowns();
                while (true)
                {
                    if (!await connection.WaitAsync(_timing.ProbeInterval, stoppingToken))
                    {
                        await ProbeAsync(connection, stoppingToken);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or InvalidOperationException or OperationCanceledException or TimeoutException)
            {
                LogListenFailed(ex);
                await Task.Delay(TimeSpan.FromSeconds(1), _time, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Checks that the quiet listening connection still reaches the server; throws when no answer comes within the probe timeout.</summary>
    private async Task ProbeAsync(NpgsqlConnection connection, CancellationToken stoppingToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(_timing.ProbeTimeout);
        await using var probe = new NpgsqlCommand("SELECT 1;", connection) { CommandTimeout = Math.Max(1, (int)Math.Ceiling(_timing.ProbeTimeout.TotalSeconds)) };
        try
        {
            await probe.ExecuteScalarAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            throw new TimeoutException($"the listening connection did not answer a probe within {_timing.ProbeTimeout.TotalSeconds:0.#} s");
        }
    }

    private void ReloadTakedowns()
    {
        try
        {
            _takedowns.Reload();
        }
        catch (Exception ex) when (ex is NpgsqlException or IOException or InvalidOperationException)
        {
            // The next notification, or the reconnect after a lost connection, reloads it again.
            LogTakedownReloadFailed(ex);
        }
    }

    private static void Notify(DbConnection connection, DbTransaction transaction, string channel, IReadOnlyList<string> payloads)
    {
        using var command = connection.Command("SELECT pg_notify(@channel, p) FROM unnest(@payloads) p;", transaction)
            .With("@channel", channel).With("@payloads", payloads.ToArray());
        command.ExecuteNonQuery();
    }

    [LoggerMessage(EventId = 7301, Level = LogLevel.Warning, Message = "listening for catalog changes of other origin instances failed; reconnecting in 1 s")]
    private partial void LogListenFailed(Exception ex);

    [LoggerMessage(EventId = 7303, Level = LogLevel.Warning, Message = "reloading the takedown list other origin instances changed failed; it is reloaded again on the next change or reconnect")]
    private partial void LogTakedownReloadFailed(Exception ex);
}

/// <summary>
/// How the relay checks its listening connection: a probe after <see cref="ProbeInterval"/> without a
/// notification, which must answer within <see cref="ProbeTimeout"/>. Tests register shorter ones.
/// </summary>
internal sealed record CatalogRelayTiming(TimeSpan ProbeInterval, TimeSpan ProbeTimeout)
{
    /// <summary>A probe after 30 s of quiet, answered within 10 s: a silently lost connection is noticed within about 45 s.</summary>
    public static readonly CatalogRelayTiming Default = new(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10));
}
