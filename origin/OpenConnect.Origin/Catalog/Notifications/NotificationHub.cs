using System.Collections.Concurrent;
using System.Data.Common;
using System.Text.Json;
using System.Threading.Channels;
using Npgsql;

namespace OpenConnect.Origin.Catalog.Notifications;

/// <summary>A stored notification as the API returns it.</summary>
public sealed record NotificationView(long Id, string Kind, string TitleId, string ChannelId, string Message, DateTimeOffset CreatedAt);

/// <summary>
/// Notifications: stored in the database in the transaction that publishes the title (so an
/// offline subscriber sees them later), then signalled to the subscriber's open streams, which
/// read everything after their last delivered id. A stream therefore never misses one, and a
/// reconnect with <c>Last-Event-ID</c> replays exactly what it did not see. With the catalog on
/// PostgreSQL the signal also reaches the streams of other origin instances
/// (<see cref="PostgresCatalogRelay"/>).
/// </summary>
public sealed class NotificationHub
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<long, Channel<bool>>> _listeners = new(StringComparer.Ordinal);
    private readonly CatalogDatabase _database;
    private long _nextListenerId;

    public NotificationHub(CatalogDatabase database) => _database = database;

    /// <summary>Stores a "published" notification for every subscriber of the channel; returns their user ids.</summary>
    internal static List<string> StorePublished(DbConnection connection, DbTransaction transaction, string channelId, string titleId, string title, DateTimeOffset now)
    {
        var shared = connection is NpgsqlConnection;
        if (shared)
        {
            PostgresCatalogRelay.BeforeStore(connection, transaction);
        }

        using var command = connection.Command(
            """
            INSERT INTO notifications (user_id, kind, title_id, channel_id, message, created_at)
            SELECT s.user_id, 'published', @title, @channel, @message, @now FROM subscriptions s WHERE s.channel_id = @channel
            RETURNING user_id;
            """, transaction)
            .With("@title", titleId).With("@channel", channelId).With("@message", title).With("@now", now.ToUnixTimeMilliseconds());
        var users = new List<string>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            users.Add(reader.GetString(0));
        }

        reader.Close();
        if (shared && users.Count > 0)
        {
            PostgresCatalogRelay.Signal(connection, transaction, users);
        }

        return users;
    }

    /// <summary>Registers a stream of <paramref name="userId"/>; the reader gets a signal whenever new notifications are stored.</summary>
    public Listener Listen(string userId)
    {
        var signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        var id = Interlocked.Increment(ref _nextListenerId);
        _listeners.GetOrAdd(userId, _ => new ConcurrentDictionary<long, Channel<bool>>())[id] = signal;
        return new Listener(this, userId, id, signal.Reader);
    }

    public void Notify(IEnumerable<string> userIds)
    {
        foreach (var user in userIds)
        {
            if (_listeners.TryGetValue(user, out var streams))
            {
                foreach (var stream in streams.Values)
                {
                    stream.Writer.TryWrite(true);
                }
            }
        }
    }

    /// <summary>Wakes every open stream (each then reads what is new for its user).</summary>
    public void NotifyAll()
    {
        foreach (var streams in _listeners.Values)
        {
            foreach (var stream in streams.Values)
            {
                stream.Writer.TryWrite(true);
            }
        }
    }

    public List<NotificationView> After(string userId, long afterId, int limit)
    {
        using var connection = _database.Open();
        using var command = connection.Command(
            "SELECT id, kind, title_id, channel_id, message, created_at FROM notifications WHERE user_id = @u AND id > @after ORDER BY id LIMIT @n;")
            .With("@u", userId).With("@after", afterId).With("@n", limit);
        using var reader = command.ExecuteReader();
        var items = new List<NotificationView>();
        while (reader.Read())
        {
            items.Add(new NotificationView(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5))));
        }

        return items;
    }

    public long LatestId(string userId)
    {
        using var connection = _database.Open();
        using var command = connection.Command("SELECT coalesce(max(id), 0) FROM notifications WHERE user_id = @u;").With("@u", userId);
        return (long)command.ExecuteScalar()!;
    }

    internal static string ToJson(NotificationView view) => JsonSerializer.Serialize(view, JsonSerializerOptions.Web);

    private void Remove(string userId, long id)
    {
        if (_listeners.TryGetValue(userId, out var streams))
        {
            streams.TryRemove(id, out _);
        }
    }

    public sealed class Listener : IDisposable
    {
        private readonly NotificationHub _hub;
        private readonly string _userId;
        private readonly long _id;

        internal Listener(NotificationHub hub, string userId, long id, ChannelReader<bool> signal)
        {
            _hub = hub;
            _userId = userId;
            _id = id;
            Signal = signal;
        }

        public ChannelReader<bool> Signal { get; }

        public void Dispose() => _hub.Remove(_userId, _id);
    }
}
