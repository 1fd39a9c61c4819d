using System.Data.Common;
using Npgsql;

namespace OpenConnect.Origin.Catalog.Notifications;

/// <summary>
/// Notification signals between origin instances sharing a PostgreSQL catalog. The transaction that
/// stores notifications also sends <c>NOTIFY</c> with each recipient's user id, which PostgreSQL
/// delivers on commit; every instance keeps one connection that <c>LISTEN</c>s and hands each id to
/// its <see cref="NotificationHub"/>, whose streams then read the new rows. Storing takes a
/// transaction-level advisory lock, so notification ids commit in increasing order and a stream that
/// reads "after id n" never passes over a row committed later. After a lost connection the relay
/// reconnects and wakes every stream once, so what was signalled meanwhile is read, not lost.
/// Does nothing on SQLite (one process: the hub's own signals suffice).
/// </summary>
internal sealed partial class PostgresNotificationRelay : BackgroundService
{
    public const string Channel = "openconnect_catalog_notifications";

    /// <summary>The advisory lock key that orders notification inserts ("OCNOTIFY").</summary>
    private const long StoreLock = 0x4F43_4E4F_5449_4659;

    private readonly CatalogDatabase _database;
    private readonly NotificationHub _hub;
    private readonly TimeProvider _time;
    private readonly ILogger<PostgresNotificationRelay> _logger;

    public PostgresNotificationRelay(CatalogDatabase database, NotificationHub hub, TimeProvider time, ILogger<PostgresNotificationRelay> logger)
    {
        _database = database;
        _hub = hub;
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
    public static void Signal(DbConnection connection, DbTransaction transaction, IReadOnlyList<string> userIds)
    {
        using var command = connection.Command("SELECT pg_notify(@channel, u) FROM unnest(@users) u;", transaction)
            .With("@channel", Channel).With("@users", userIds.ToArray());
        command.ExecuteNonQuery();
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
                await using var connection = (NpgsqlConnection)_database.Open();
                connection.Notification += (_, e) => _hub.Notify([e.Payload]);
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel};", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                // Anything stored while this instance was not listening is read now.
                _hub.NotifyAll();
                while (true)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or InvalidOperationException)
            {
                LogListenFailed(ex);
                await Task.Delay(TimeSpan.FromSeconds(1), _time, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(EventId = 7301, Level = LogLevel.Warning, Message = "listening for catalog notifications failed; reconnecting in 1 s")]
    private partial void LogListenFailed(Exception ex);
}
