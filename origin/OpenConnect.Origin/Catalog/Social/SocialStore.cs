using OpenConnect.Origin.Catalog.Accounts;
using OpenConnect.Origin.Catalog.Titles;

namespace OpenConnect.Origin.Catalog.Social;

public sealed record RatingView(string Rating, long Likes, long Dislikes);

public sealed record CommentView(long Id, string TitleId, long? ParentId, string UserId, string UserName, string Body, bool Deleted, long Replies, DateTimeOffset CreatedAt, DateTimeOffset? EditedAt);

/// <summary>Likes/dislikes (one per user and title) and threaded comments.</summary>
public sealed class SocialStore
{
    private readonly CatalogDatabase _database;
    private readonly TitleCache _cache;
    private readonly TimeProvider _time;

    public SocialStore(CatalogDatabase database, TitleCache cache, TimeProvider time)
    {
        _database = database;
        _cache = cache;
        _time = time;
    }

    /// <summary>Sets the user's rating (+1 like, -1 dislike, 0 none); repeating it changes nothing.</summary>
    public async Task<RatingView> RateAsync(string titleId, long seq, string userId, int value, CancellationToken ct)
    {
        var lockTitle = _database.Dialect == CatalogDialect.PostgreSql;
        var result = await _database.WriteAsync((connection, transaction) =>
        {
            if (lockTitle)
            {
                // Several origin instances rate one title at once on PostgreSQL: under READ COMMITTED the
                // counting sub-selects below would use a snapshot taken before another instance's rating
                // committed (its UPDATE waits for the row lock, then re-checks only the title row). Taking
                // the row lock first makes every later statement's snapshot include the other's rating.
                using var locked = connection.Command("SELECT 1 FROM titles WHERE seq = @s FOR UPDATE;", transaction).With("@s", seq);
                locked.ExecuteNonQuery();
            }

            using (var command = value == 0
                ? connection.Command("DELETE FROM ratings WHERE seq = @s AND user_id = @u;", transaction)
                : connection.Command("INSERT INTO ratings (seq, user_id, value) VALUES (@s, @u, @v) ON CONFLICT (seq, user_id) DO UPDATE SET value = excluded.value;", transaction).With("@v", value))
            {
                command.With("@s", seq).With("@u", userId).ExecuteNonQuery();
            }

            // Counters are recomputed from the rating rows (after the row lock above), so repeated or switched ratings can never drift.
            using (var update = connection.Command(
                """
                UPDATE titles SET likes = (SELECT count(*) FROM ratings WHERE seq = @s AND value = 1),
                                  dislikes = (SELECT count(*) FROM ratings WHERE seq = @s AND value = -1)
                WHERE seq = @s RETURNING likes, dislikes;
                """, transaction).With("@s", seq))
            using (var reader = update.ExecuteReader())
            {
                reader.Read();
                var rating = new RatingView(value switch { 1 => "like", -1 => "dislike", _ => "none" }, reader.GetInt64(0), reader.GetInt64(1));
                reader.Close();
                PublishedTitles.RefreshHotScore(connection, transaction, seq);
                PostgresCatalogRelay.TitlesChanged(connection, transaction, [titleId]);
                return rating;
            }
        }, ct);
        _cache.Invalidate(titleId);
        return result;
    }

    public string MyRating(long seq, string userId)
    {
        using var connection = _database.Open();
        using var command = connection.Command("SELECT value FROM ratings WHERE seq = @s AND user_id = @u;").With("@s", seq).With("@u", userId);
        return command.ExecuteScalar() switch { 1L => "like", -1L => "dislike", _ => "none" };
    }

    /// <summary>Adds a comment; null when <paramref name="parentId"/> is not a comment of the same title.</summary>
    public Task<CommentView?> AddCommentAsync(string titleId, long seq, long? parentId, AccessGrant author, string body, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        return _database.WriteAsync<CommentView?>((connection, transaction) =>
        {
            if (parentId is not null)
            {
                using var parent = connection.Command("SELECT 1 FROM comments WHERE id = @p AND seq = @s;", transaction).With("@p", parentId.Value).With("@s", seq);
                if (parent.ExecuteScalar() is null)
                {
                    return null;
                }
            }

            using var insert = connection.Command(
                "INSERT INTO comments (seq, parent_id, user_id, body, created_at) VALUES (@s, @p, @u, @b, @t) RETURNING id;", transaction)
                .With("@s", seq).With("@p", parentId).With("@u", author.UserId).With("@b", body).With("@t", now.ToUnixTimeMilliseconds());
            var id = (long)insert.ExecuteScalar()!;
            return new CommentView(id, titleId, parentId, author.UserId, author.Name, body, false, 0, now, null);
        }, ct);
    }

    /// <summary>Comments of a title at one level of the thread (top level, or replies to <paramref name="parentId"/>), oldest first.</summary>
    public Page<CommentView> ListComments(string titleId, long seq, long? parentId, long afterId, int limit)
    {
        using var connection = _database.Open();
        using var command = connection.Command(
            $"""
            SELECT c.id, c.parent_id, c.user_id, u.name, c.body, c.deleted, (SELECT count(*) FROM comments r WHERE r.parent_id = c.id), c.created_at, c.edited_at
            FROM comments c JOIN users u ON u.id = c.user_id
            WHERE c.seq = @s AND {(parentId is null ? "c.parent_id IS NULL" : "c.parent_id = @p")} AND c.id > @after
            ORDER BY c.id LIMIT @n;
            """).With("@s", seq).With("@after", afterId).With("@n", limit + 1);
        if (parentId is not null)
        {
            command.With("@p", parentId.Value);
        }

        var items = new List<CommentView>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (items.Count == limit)
            {
                return new Page<CommentView>(items, Cursor.Encode("c", items[^1].Id));
            }

            items.Add(new CommentView(
                reader.GetInt64(0), titleId, reader.Int64OrNull(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetInt64(5) != 0,
                reader.GetInt64(6), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)),
                reader.Int64OrNull(8) is { } edited ? DateTimeOffset.FromUnixTimeMilliseconds(edited) : null));
        }

        return new Page<CommentView>(items, null);
    }

    /// <summary>The comment's author and whether it is deleted, or null when unknown.</summary>
    public (string UserId, bool Deleted)? CommentOwner(long commentId)
    {
        using var connection = _database.Open();
        using var command = connection.Command("SELECT user_id, deleted FROM comments WHERE id = @id;").With("@id", commentId);
        using var reader = command.ExecuteReader();
        return reader.Read() ? (reader.GetString(0), reader.GetInt64(1) != 0) : null;
    }

    public Task EditCommentAsync(long commentId, string body, CancellationToken ct) =>
        _database.WriteAsync((connection, transaction) =>
        {
            using var update = connection.Command("UPDATE comments SET body = @b, edited_at = @t WHERE id = @id;", transaction)
                .With("@b", body).With("@t", _time.GetUtcNow().ToUnixTimeMilliseconds()).With("@id", commentId);
            return update.ExecuteNonQuery();
        }, ct);

    /// <summary>Deletes a comment's text but keeps its place, so replies stay attached to their thread.</summary>
    public Task DeleteCommentAsync(long commentId, CancellationToken ct) =>
        _database.WriteAsync((connection, transaction) =>
        {
            using var update = connection.Command("UPDATE comments SET body = '', deleted = 1 WHERE id = @id;", transaction).With("@id", commentId);
            return update.ExecuteNonQuery();
        }, ct);

}
