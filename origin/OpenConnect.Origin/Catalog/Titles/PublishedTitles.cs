using System.Data.Common;
using System.Text.Json;
using Npgsql;
using OpenConnect.Origin.Catalog.Notifications;
using OpenConnect.Origin.Catalog.Search;

namespace OpenConnect.Origin.Catalog.Titles;

/// <summary>
/// Titles in the catalog database: the pipeline's upserts, uploader edits, reads and lists. Every
/// write updates the search index in the same transaction, so search sees it on commit.
/// </summary>
public sealed class PublishedTitles : ICatalogTitles
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly CatalogDatabase _database;
    private readonly TitleCache _cache;
    private readonly NotificationHub _hub;
    private readonly TimeProvider _time;

    public PublishedTitles(CatalogDatabase database, TitleCache cache, NotificationHub hub, TimeProvider time)
    {
        _database = database;
        _cache = cache;
        _hub = hub;
        _time = time;
    }

    public async Task UpsertFromPipelineAsync(TitleUpdate update, CancellationToken ct)
    {
        Validate(update);
        var notified = await _database.WriteAsync((connection, transaction) => Upsert(connection, transaction, update, notify: true), ct);
        _cache.Invalidate(update.Id);
        if (notified.Count > 0)
        {
            _hub.Notify(notified);
        }
    }

    /// <summary>
    /// Bulk import (a catalog moved from another system, a restore, the bench's 100,000 titles): the
    /// same rows, search index and vocabulary as upserting each update in turn, in one transaction,
    /// except that nobody is notified (no notification rows, no signals: an import is not news).
    /// On PostgreSQL the rows go in with COPY and a few set-based statements
    /// (<see cref="PostgresTitleImport"/>) instead of a dozen round trips per title; on SQLite, whose
    /// statements run in-process, one by one. Batches of a few thousand keep the transaction short.
    /// </summary>
    /// <exception cref="ArgumentException">An update is invalid, or an id appears twice in <paramref name="updates"/>; nothing is written.</exception>
    public async Task ImportAsync(IReadOnlyList<TitleUpdate> updates, CancellationToken ct)
    {
        var ids = new HashSet<string>(updates.Count, StringComparer.Ordinal);
        foreach (var update in updates)
        {
            Validate(update);
            if (!ids.Add(update.Id))
            {
                throw new ArgumentException($"title '{update.Id}' appears more than once in one import", nameof(updates));
            }
        }

        await _database.WriteAsync((connection, transaction) =>
        {
            if (connection is NpgsqlConnection postgres)
            {
                PostgresTitleImport.Import(postgres, transaction, updates, _time.GetUtcNow());
                return 0;
            }

            foreach (var update in updates)
            {
                Upsert(connection, transaction, update, notify: false);
            }

            return 0;
        }, ct);
        foreach (var update in updates)
        {
            _cache.Invalidate(update.Id);
        }
    }

    /// <summary>An uploader's edit of the text fields. Null leaves a field as it is.</summary>
    public async Task<TitleView?> EditAsync(string id, string? title, string? description, IReadOnlyList<string>? tags, CancellationToken ct)
    {
        var found = await _database.WriteAsync((connection, transaction) =>
        {
            var current = ReadOne(connection, transaction, id);
            if (current is null)
            {
                return false;
            }

            var (seq, view) = current.Value;
            var newTitle = title ?? view.Title;
            var newDescription = description ?? view.Description;
            var newTags = tags is null ? view.Tags : NormalizeTags(tags);
            using (var command = connection.Command(
                "UPDATE titles SET title = @title, description = @description, tags = @tags, updated_at = @now, fold_title = @ft, fold_all = @fa WHERE seq = @seq;", transaction))
            {
                command.With("@title", newTitle).With("@description", newDescription).With("@tags", JsonSerializer.Serialize(newTags, Json))
                    .With("@now", _time.GetUtcNow().ToUnixTimeMilliseconds()).With("@ft", TextFold.Fold(newTitle))
                    .With("@fa", FoldAll(newTitle, newTags, newDescription)).With("@seq", seq).ExecuteNonQuery();
            }

            Index(connection, transaction, seq, view.Status, newTitle, newTags, newDescription);
            PostgresCatalogRelay.TitlesChanged(connection, transaction, [id]);
            return true;
        }, ct);
        _cache.Invalidate(id);
        return found ? await GetAsync(id, ct) : null;
    }

    public Task<TitleView?> GetAsync(string id, CancellationToken ct)
    {
        _ = ct;
        using var connection = _database.Open();
        return Task.FromResult(ReadOne(connection, null, id)?.View);
    }

    /// <summary>The internal sequence number and uploader of a title, or null when unknown.</summary>
    internal (long Seq, string? UploaderId, string? ChannelId)? Lookup(string id)
    {
        using var connection = _database.Open();
        using var command = connection.Command("SELECT seq, uploader_id, channel_id FROM titles WHERE id = @id;").With("@id", id);
        using var reader = command.ExecuteReader();
        return reader.Read() ? (reader.GetInt64(0), reader.StringOrNull(1), reader.StringOrNull(2)) : null;
    }

    /// <summary>Published titles, newest first, optionally of one channel.</summary>
    public Page<TitleView> ListPublished(string? channelId, (long PublishedAt, long Seq)? after, int limit)
    {
        using var connection = _database.Open();
        var sql = $"SELECT {_database.Dialect.TitleColumns} FROM titles t WHERE t.status = 'published'"
            + (channelId is null ? "" : " AND t.channel_id = @channel")
            + (after is null ? "" : " AND (t.published_at < @p OR (t.published_at = @p AND t.seq < @s))")
            + " ORDER BY t.published_at DESC, t.seq DESC LIMIT @limit;";
        using var command = connection.Command(sql).With("@limit", limit + 1);
        if (channelId is not null)
        {
            command.With("@channel", channelId);
        }

        if (after is not null)
        {
            command.With("@p", after.Value.PublishedAt).With("@s", after.Value.Seq);
        }

        var items = new List<TitleView>();
        long lastSeq = 0, lastPublished = 0;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (items.Count == limit)
            {
                return new Page<TitleView>(items, Cursor.Encode("t", lastPublished, lastSeq));
            }

            var item = Read(reader);
            items.Add(item);
            lastSeq = reader.GetInt64(0);
            lastPublished = item.PublishedAt?.ToUnixTimeMilliseconds() ?? 0;
        }

        return new Page<TitleView>(items, null);
    }

    /// <summary>Reads a row selected with <see cref="CatalogDialect.TitleColumns"/>.</summary>
    internal static TitleView Read(DbDataReader reader)
    {
        var duration = reader.DoubleOrNull(1);
        var json = new Utf8JsonReader(CatalogDialect.RowJson(reader, 2));
        Expect(ref json, JsonTokenType.StartArray);
        var id = RequiredString(ref json);
        var uploader = OptionalString(ref json);
        var channel = OptionalString(ref json);
        var title = RequiredString(ref json);
        var description = RequiredString(ref json);
        json.Read();
        var tags = JsonSerializer.Deserialize(ref json, CatalogJson.Default.StringArray) ?? [];
        var status = RequiredString(ref json);
        var failure = OptionalString(ref json);
        json.Read();
        var renditions = JsonSerializer.Deserialize(ref json, CatalogJson.Default.RenditionInfoArray) ?? [];
        var hls = OptionalString(ref json);
        var dash = OptionalString(ref json);
        var poster = OptionalString(ref json);
        var storyboard = OptionalString(ref json);
        var created = RequiredInt64(ref json);
        var published = OptionalInt64(ref json);
        var updated = RequiredInt64(ref json);
        var views = RequiredInt64(ref json);
        var likes = RequiredInt64(ref json);
        var dislikes = RequiredInt64(ref json);
        return new TitleView(
            id, uploader, channel, title, description, tags, status, failure, duration, renditions, new ManifestUrls(hls, dash), poster, storyboard,
            DateTimeOffset.FromUnixTimeMilliseconds(created),
            published is { } at ? DateTimeOffset.FromUnixTimeMilliseconds(at) : null,
            DateTimeOffset.FromUnixTimeMilliseconds(updated),
            views, likes, dislikes);
    }

    private static void Expect(ref Utf8JsonReader json, JsonTokenType type)
    {
        if (!json.Read() || json.TokenType != type)
        {
            throw new InvalidDataException($"title row: expected {type}, found {json.TokenType}");
        }
    }

    private static string? OptionalString(ref Utf8JsonReader json)
    {
        json.Read();
        return json.TokenType == JsonTokenType.Null ? null : json.GetString();
    }

    private static string RequiredString(ref Utf8JsonReader json) =>
        OptionalString(ref json) ?? throw new InvalidDataException("title row: a required text field is null");

    private static long? OptionalInt64(ref Utf8JsonReader json)
    {
        json.Read();
        return json.TokenType == JsonTokenType.Null ? null : json.GetInt64();
    }

    private static long RequiredInt64(ref Utf8JsonReader json) =>
        OptionalInt64(ref json) ?? throw new InvalidDataException("title row: a required number is null");

    /// <summary>Reddit-style hot score: log-weighted engagement plus recency (45,000 s ≈ 12.5 h per tenfold).</summary>
    public static double HotScore(long views, long likes, long dislikes, DateTimeOffset publishedAt)
    {
        var engagement = views + (10.0 * (likes - dislikes));
        var order = Math.Log10(Math.Max(Math.Abs(engagement), 1));
        var sign = Math.Sign(engagement);
        var seconds = publishedAt.ToUnixTimeSeconds() - 1_700_000_000;
        return (sign * order) + (seconds / 45_000.0);
    }

    internal static void RefreshHotScore(DbConnection connection, DbTransaction transaction, long seq)
    {
        using var read = connection.Command("SELECT views, likes, dislikes, coalesce(published_at, created_at) FROM titles WHERE seq = @seq;", transaction).With("@seq", seq);
        using var reader = read.ExecuteReader();
        if (!reader.Read())
        {
            return;
        }

        var score = HotScore(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)));
        reader.Close();
        using var write = connection.Command("UPDATE titles SET hot_score = @h WHERE seq = @seq;", transaction).With("@h", score).With("@seq", seq);
        write.ExecuteNonQuery();
    }

    /// <summary>
    /// The text and times an update writes, given the stored title (null when new): text fields the
    /// update leaves null keep their stored values, a first publication is stamped now.
    /// </summary>
    internal static MergedTitle Merge(TitleUpdate update, TitleView? previous, DateTimeOffset now)
    {
        var title = update.Title ?? previous?.Title ?? update.Id;
        return new MergedTitle(
            title,
            update.Description ?? previous?.Description ?? "",
            update.Tags is null ? previous?.Tags ?? [] : NormalizeTags(update.Tags),
            update.PublishedAt ?? previous?.PublishedAt ?? (update.Status == TitleStatus.Published ? now : null),
            previous?.CreatedAt ?? update.CreatedAt ?? now,
            update.Status == TitleStatus.Published && previous?.Status != TitleStatus.Published);
    }

    private List<string> Upsert(DbConnection connection, DbTransaction transaction, TitleUpdate update, bool notify)
    {
        var now = _time.GetUtcNow();
        var existing = ReadOne(connection, transaction, update.Id);
        var previous = existing?.View;
        var (title, description, tags, publishedAt, createdAt, becamePublished) = Merge(update, previous, now);

        using (var command = connection.Command(
            """
            INSERT INTO titles (id, uploader_id, channel_id, title, description, tags, status, failure_reason, duration, renditions,
                hls_url, dash_url, poster_url, storyboard_url, created_at, published_at, updated_at, fold_title, fold_all)
            VALUES (@id, @uploader, @channel, @title, @description, @tags, @status, @failure, @duration, @renditions,
                @hls, @dash, @poster, @storyboard, @created, @published, @now, @ft, @fa)
            ON CONFLICT (id) DO UPDATE SET
                uploader_id = coalesce(excluded.uploader_id, titles.uploader_id), channel_id = coalesce(excluded.channel_id, titles.channel_id),
                title = excluded.title, description = excluded.description, tags = excluded.tags, status = excluded.status,
                failure_reason = excluded.failure_reason, duration = coalesce(excluded.duration, titles.duration),
                renditions = CASE WHEN @hasRenditions THEN excluded.renditions ELSE titles.renditions END,
                hls_url = coalesce(excluded.hls_url, titles.hls_url), dash_url = coalesce(excluded.dash_url, titles.dash_url),
                poster_url = coalesce(excluded.poster_url, titles.poster_url), storyboard_url = coalesce(excluded.storyboard_url, titles.storyboard_url),
                published_at = excluded.published_at, updated_at = excluded.updated_at, fold_title = excluded.fold_title, fold_all = excluded.fold_all;
            """, transaction))
        {
            command.With("@id", update.Id).With("@uploader", update.UploaderId).With("@channel", update.ChannelId)
                .With("@title", title).With("@description", description).With("@tags", JsonSerializer.Serialize(tags, Json))
                .With("@status", update.Status).With("@failure", update.FailureReason).With("@duration", update.DurationSeconds)
                .With("@renditions", JsonSerializer.Serialize(update.Renditions ?? [], Json)).With("@hasRenditions", update.Renditions is not null)
                .With("@hls", update.HlsManifestUrl).With("@dash", update.DashManifestUrl).With("@poster", update.PosterUrl).With("@storyboard", update.StoryboardUrl)
                .With("@created", createdAt.ToUnixTimeMilliseconds()).With("@published", publishedAt?.ToUnixTimeMilliseconds())
                .With("@now", now.ToUnixTimeMilliseconds()).With("@ft", TextFold.Fold(title)).With("@fa", FoldAll(title, tags, description))
                .ExecuteNonQuery();
        }

        long seq;
        using (var command = connection.Command("SELECT seq, channel_id FROM titles WHERE id = @id;", transaction).With("@id", update.Id))
        {
            seq = (long)command.ExecuteScalar()!;
        }

        Index(connection, transaction, seq, update.Status, title, tags, description);
        RefreshHotScore(connection, transaction, seq);
        PostgresCatalogRelay.TitlesChanged(connection, transaction, [update.Id]);
        var channelId = update.ChannelId ?? previous?.ChannelId;
        return notify && becamePublished && channelId is not null
            ? NotificationHub.StorePublished(connection, transaction, channelId, update.Id, title, now)
            : [];
    }

    /// <summary>Keeps the search rows, tag rows and spelling vocabulary of one title in step with its text and status.</summary>
    private void Index(DbConnection connection, DbTransaction transaction, long seq, string status, string title, IReadOnlyList<string> tags, string description)
    {
        using (var delete = connection.Command("DELETE FROM title_tags WHERE seq = @seq;", transaction).With("@seq", seq))
        {
            delete.ExecuteNonQuery();
        }

        var published = status == TitleStatus.Published;
        var tagText = string.Join(' ', tags);
        _database.Search.Index(connection, transaction, seq, published, title, tagText, description);
        if (!published)
        {
            return;
        }

        using (var tag = connection.Command("INSERT INTO title_tags (seq, tag) VALUES (@seq, @tag) ON CONFLICT DO NOTHING;", transaction))
        {
            var tagParameter = tag.Parameter("@tag");
            tag.With("@seq", seq);
            foreach (var t in tags)
            {
                tagParameter.Value = TextFold.Fold(t);
                tag.ExecuteNonQuery();
            }
        }

        SpellingVocabulary.Add(connection, transaction, _database.Search, TextFold.Words(title + " " + tagText + " " + description));
    }

    private (long Seq, TitleView View)? ReadOne(DbConnection connection, DbTransaction? transaction, string id)
    {
        using var command = connection.Command($"SELECT {_database.Dialect.TitleColumns} FROM titles t WHERE t.id = @id;", transaction).With("@id", id);
        using var reader = command.ExecuteReader();
        return reader.Read() ? (reader.GetInt64(0), Read(reader)) : null;
    }

    internal static string FoldAll(string title, IReadOnlyList<string> tags, string description) =>
        TextFold.Fold(title + "\n" + string.Join(' ', tags) + "\n" + description);

    internal static string[] NormalizeTags(IEnumerable<string> tags) =>
        [.. tags.Select(t => t.Trim()).Where(t => t.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase)];

    /// <summary>The validation the HTTP edit path shares: null when fine, else the message.</summary>
    internal static string? CheckText(string? title, string? description, IReadOnlyList<string>? tags)
    {
        if (title is not null && (title.Trim().Length == 0 || title.Length > ApiLimits.MaxTitleLength))
        {
            return $"title must be 1..{ApiLimits.MaxTitleLength} characters";
        }

        if (description is not null && description.Length > ApiLimits.MaxDescriptionLength)
        {
            return $"description must be at most {ApiLimits.MaxDescriptionLength} characters";
        }

        if (tags is not null)
        {
            if (tags.Count > ApiLimits.MaxTags)
            {
                return $"at most {ApiLimits.MaxTags} tags";
            }

            if (tags.Any(t => t is null || t.Trim().Length == 0 || t.Length > ApiLimits.MaxTagLength))
            {
                return $"each tag must be 1..{ApiLimits.MaxTagLength} characters";
            }
        }

        return null;
    }

    private static void Validate(TitleUpdate update)
    {
        if (!ApiLimits.IsValidId(update.Id))
        {
            throw new ArgumentException($"'{update.Id}' is not a valid title id ([A-Za-z0-9_-], 1..64)", nameof(update));
        }

        if (!TitleStatus.IsKnown(update.Status))
        {
            throw new ArgumentException($"'{update.Status}' is not a title status (queued, processing, published, rejected, failed, delayed, removed)", nameof(update));
        }

        if (CheckText(update.Title, update.Description, update.Tags) is { } problem)
        {
            throw new ArgumentException(problem, nameof(update));
        }

        if (update.DurationSeconds is < 0 or double.NaN)
        {
            throw new ArgumentException("duration must be a non-negative number of seconds", nameof(update));
        }
    }
}

/// <summary>What <see cref="PublishedTitles.Merge"/> makes of an update and the stored title.</summary>
internal readonly record struct MergedTitle(
    string Title, string Description, IReadOnlyList<string> Tags, DateTimeOffset? PublishedAt, DateTimeOffset CreatedAt, bool BecamePublished);
