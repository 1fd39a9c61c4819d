using System.Data.Common;
using OpenConnect.Origin.Catalog.Accounts;

namespace OpenConnect.Origin.Catalog.Social;

public sealed record ChannelView(string Id, string OwnerId, string Name, string Description, long Subscribers, DateTimeOffset CreatedAt);

/// <summary>Channels and subscriptions to them.</summary>
public sealed class ChannelStore
{
    private readonly CatalogDatabase _database;
    private readonly TimeProvider _time;

    public ChannelStore(CatalogDatabase database, TimeProvider time)
    {
        _database = database;
        _time = time;
    }

    public static string? Check(string? name, string? description) =>
        name is null || name.Trim().Length == 0 || name.Length > 100 ? "name must be 1..100 characters"
        : description is { Length: > ApiLimits.MaxDescriptionLength } ? $"description must be at most {ApiLimits.MaxDescriptionLength} characters"
        : null;

    internal static string Insert(DbConnection connection, DbTransaction transaction, string ownerId, string name, string description, DateTimeOffset now)
    {
        var id = AccountStore.NewId();
        using var insert = connection.Command("INSERT INTO channels (id, owner_id, name, description, created_at) VALUES (@id, @o, @n, @d, @t);", transaction);
        insert.With("@id", id).With("@o", ownerId).With("@n", name).With("@d", description).With("@t", now.ToUnixTimeMilliseconds()).ExecuteNonQuery();
        return id;
    }

    public async Task<ChannelView> CreateAsync(string ownerId, string name, string description, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        var id = await _database.WriteAsync((connection, transaction) => Insert(connection, transaction, ownerId, name, description, now), ct);
        return new ChannelView(id, ownerId, name, description, 0, now);
    }

    public ChannelView? Get(string id)
    {
        using var connection = _database.Open();
        using var command = connection.Command(
            "SELECT c.id, c.owner_id, c.name, c.description, (SELECT count(*) FROM subscriptions s WHERE s.channel_id = c.id), c.created_at FROM channels c WHERE c.id = @id;")
            .With("@id", id);
        using var reader = command.ExecuteReader();
        return reader.Read() ? Read(reader) : null;
    }

    /// <summary>Subscribes (or, with <paramref name="subscribe"/> false, unsubscribes); idempotent.</summary>
    public Task SetSubscriptionAsync(string userId, string channelId, bool subscribe, CancellationToken ct) =>
        _database.WriteAsync((connection, transaction) =>
        {
            using var command = subscribe
                ? connection.Command("INSERT INTO subscriptions (user_id, channel_id, created_at) VALUES (@u, @c, @t) ON CONFLICT DO NOTHING;", transaction).With("@t", _time.GetUtcNow().ToUnixTimeMilliseconds())
                : connection.Command("DELETE FROM subscriptions WHERE user_id = @u AND channel_id = @c;", transaction);
            return command.With("@u", userId).With("@c", channelId).ExecuteNonQuery();
        }, ct);

    public List<ChannelView> Subscriptions(string userId)
    {
        using var connection = _database.Open();
        using var command = connection.Command(
            """
            SELECT c.id, c.owner_id, c.name, c.description, (SELECT count(*) FROM subscriptions x WHERE x.channel_id = c.id), c.created_at
            FROM subscriptions s JOIN channels c ON c.id = s.channel_id WHERE s.user_id = @u ORDER BY s.created_at;
            """).With("@u", userId);
        using var reader = command.ExecuteReader();
        var items = new List<ChannelView>();
        while (reader.Read())
        {
            items.Add(Read(reader));
        }

        return items;
    }

    private static ChannelView Read(DbDataReader reader) =>
        new(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)));
}
