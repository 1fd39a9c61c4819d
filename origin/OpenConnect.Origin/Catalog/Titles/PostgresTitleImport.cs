using System.Data.Common;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using OpenConnect.Origin.Catalog.Search;

namespace OpenConnect.Origin.Catalog.Titles;

/// <summary>
/// <see cref="PublishedTitles.ImportAsync"/> on PostgreSQL. Upserting one title costs about a dozen
/// round trips (the row, its search columns, its tags, one per vocabulary word, its hot score), so
/// 100,000 titles took minutes; here a batch costs a handful whatever its size: the stored rows of
/// the batch's ids are read (and locked) in one query, merged in .NET exactly as a single upsert
/// merges them, copied with binary <c>COPY</c> into a temporary table, and moved into <c>titles</c>,
/// the search tables, <c>title_tags</c> and <c>vocab</c> by a statement or two each, the search
/// rows computed by the same expressions as <see cref="PostgresSearchIndex"/>. New titles get their <c>seq</c> in the
/// order of the batch, as one by one.
/// </summary>
internal static class PostgresTitleImport
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static void Import(NpgsqlConnection connection, DbTransaction transaction, IReadOnlyList<TitleUpdate> updates, DateTimeOffset now)
    {
        var previous = Stored(connection, transaction, updates);
        using (var create = connection.Command(
            """
            CREATE TEMP TABLE title_import (
                ord int NOT NULL, id text NOT NULL, uploader_id text, channel_id text, title text NOT NULL, description text NOT NULL,
                tags text NOT NULL, fold_tags text[] NOT NULL, status text NOT NULL, failure_reason text, duration double precision,
                renditions text NOT NULL, hls_url text, dash_url text, poster_url text, storyboard_url text,
                created_at bigint NOT NULL, published_at bigint, updated_at bigint NOT NULL, hot_score double precision NOT NULL,
                fold_title text NOT NULL, fold_all text NOT NULL, words_title text NOT NULL, words_tags text NOT NULL, words_description text NOT NULL
            ) ON COMMIT DROP;
            """, transaction))
        {
            create.ExecuteNonQuery();
        }

        var vocabulary = Copy(connection, updates, previous, now);
        using (var move = connection.Command(
            $"""
            ANALYZE title_import;
            INSERT INTO titles (id, uploader_id, channel_id, title, description, tags, status, failure_reason, duration, renditions,
                hls_url, dash_url, poster_url, storyboard_url, created_at, published_at, updated_at, hot_score, fold_title, fold_all)
            SELECT id, uploader_id, channel_id, title, description, tags, status, failure_reason, duration, renditions,
                hls_url, dash_url, poster_url, storyboard_url, created_at, published_at, updated_at, hot_score, fold_title, fold_all
            FROM title_import ORDER BY ord
            ON CONFLICT (id) DO UPDATE SET
                uploader_id = excluded.uploader_id, channel_id = excluded.channel_id, title = excluded.title, description = excluded.description,
                tags = excluded.tags, status = excluded.status, failure_reason = excluded.failure_reason, duration = excluded.duration,
                renditions = excluded.renditions, hls_url = excluded.hls_url, dash_url = excluded.dash_url, poster_url = excluded.poster_url,
                storyboard_url = excluded.storyboard_url, published_at = excluded.published_at, updated_at = excluded.updated_at,
                hot_score = excluded.hot_score, fold_title = excluded.fold_title, fold_all = excluded.fold_all;
            CREATE TEMP TABLE title_import_seq ON COMMIT DROP AS SELECT t.seq, i.* FROM title_import i JOIN titles t ON t.id = i.id;
            DELETE FROM search_words s USING title_import_seq i WHERE s.seq = i.seq;
            DELETE FROM search_text s USING title_import_seq i WHERE s.seq = i.seq;
            INSERT INTO search_words (seq, words)
            SELECT seq, {PostgresSearchIndex.WordsVector("words_title", "words_tags")} FROM title_import_seq WHERE status = 'published' ORDER BY seq;
            INSERT INTO search_text (seq, body)
            SELECT seq, {PostgresSearchIndex.BodyVector("words_title", "words_tags", "words_description")} FROM title_import_seq WHERE status = 'published' ORDER BY seq;
            DELETE FROM title_tags g USING title_import_seq i WHERE g.seq = i.seq;
            INSERT INTO title_tags (seq, tag)
            SELECT i.seq, tag FROM title_import_seq i CROSS JOIN LATERAL unnest(i.fold_tags) tag
            WHERE i.status = 'published'
            ON CONFLICT DO NOTHING;
            INSERT INTO vocab (word) SELECT w FROM unnest(@words) w ORDER BY w ON CONFLICT (word) DO NOTHING;
            """, transaction))
        {
            move.With("@words", vocabulary).ExecuteNonQuery();
        }

        PostgresCatalogRelay.TitlesChanged(connection, transaction, [.. updates.Select(u => u.Id)]);
    }

    /// <summary>The stored titles among the batch's ids, locked until the import commits.</summary>
    private static Dictionary<string, TitleView> Stored(NpgsqlConnection connection, DbTransaction transaction, IReadOnlyList<TitleUpdate> updates)
    {
        var stored = new Dictionary<string, TitleView>(StringComparer.Ordinal);
        using var read = connection.Command($"SELECT {CatalogDialect.PostgreSql.TitleColumns} FROM titles t WHERE t.id = ANY(@ids) FOR UPDATE;", transaction)
            .With("@ids", updates.Select(u => u.Id).ToArray());
        using var reader = read.ExecuteReader();
        while (reader.Read())
        {
            var view = PublishedTitles.Read(reader);
            stored[view.Id] = view;
        }

        return stored;
    }

    /// <summary>Copies the merged rows into <c>title_import</c>; returns the vocabulary words of the published ones.</summary>
    private static string[] Copy(NpgsqlConnection connection, IReadOnlyList<TitleUpdate> updates, Dictionary<string, TitleView> stored, DateTimeOffset now)
    {
        var vocabulary = new HashSet<string>(StringComparer.Ordinal);
        using var copy = connection.BeginBinaryImport(
            """
            COPY title_import (ord, id, uploader_id, channel_id, title, description, tags, fold_tags, status, failure_reason, duration,
                renditions, hls_url, dash_url, poster_url, storyboard_url, created_at, published_at, updated_at, hot_score,
                fold_title, fold_all, words_title, words_tags, words_description) FROM STDIN (FORMAT BINARY)
            """);
        for (var i = 0; i < updates.Count; i++)
        {
            var update = updates[i];
            var previous = stored.GetValueOrDefault(update.Id);
            var merged = PublishedTitles.Merge(update, previous, now);
            var published = update.Status == TitleStatus.Published;
            var tagText = string.Join(' ', merged.Tags);

            // What a single upsert's SQL keeps (coalesce with the stored row) and its hot score, made here.
            var hot = PublishedTitles.HotScore(previous?.Views ?? 0, previous?.Likes ?? 0, previous?.Dislikes ?? 0, merged.PublishedAt ?? merged.CreatedAt);
            copy.StartRow();
            copy.Write(i, NpgsqlDbType.Integer);
            copy.Write(update.Id, NpgsqlDbType.Text);
            WriteText(copy, update.UploaderId ?? previous?.UploaderId);
            WriteText(copy, update.ChannelId ?? previous?.ChannelId);
            copy.Write(merged.Title, NpgsqlDbType.Text);
            copy.Write(merged.Description, NpgsqlDbType.Text);
            copy.Write(JsonSerializer.Serialize(merged.Tags, Json), NpgsqlDbType.Text);
            copy.Write(published ? merged.Tags.Select(TextFold.Fold).ToArray() : [], NpgsqlDbType.Array | NpgsqlDbType.Text);
            copy.Write(update.Status, NpgsqlDbType.Text);
            WriteText(copy, update.FailureReason);
            if ((update.DurationSeconds ?? previous?.DurationSeconds) is { } duration)
            {
                copy.Write(duration, NpgsqlDbType.Double);
            }
            else
            {
                copy.WriteNull();
            }

            copy.Write(JsonSerializer.Serialize(update.Renditions ?? previous?.Renditions ?? [], Json), NpgsqlDbType.Text);
            WriteText(copy, update.HlsManifestUrl ?? previous?.Manifests.Hls);
            WriteText(copy, update.DashManifestUrl ?? previous?.Manifests.Dash);
            WriteText(copy, update.PosterUrl ?? previous?.PosterUrl);
            WriteText(copy, update.StoryboardUrl ?? previous?.StoryboardUrl);
            copy.Write(merged.CreatedAt.ToUnixTimeMilliseconds(), NpgsqlDbType.Bigint);
            if (merged.PublishedAt is { } publishedAt)
            {
                copy.Write(publishedAt.ToUnixTimeMilliseconds(), NpgsqlDbType.Bigint);
            }
            else
            {
                copy.WriteNull();
            }

            copy.Write(now.ToUnixTimeMilliseconds(), NpgsqlDbType.Bigint);
            copy.Write(hot, NpgsqlDbType.Double);
            copy.Write(TextFold.Fold(merged.Title), NpgsqlDbType.Text);
            copy.Write(PublishedTitles.FoldAll(merged.Title, merged.Tags, merged.Description), NpgsqlDbType.Text);
            copy.Write(PostgresSearchIndex.Words(merged.Title), NpgsqlDbType.Text);
            copy.Write(PostgresSearchIndex.Words(tagText), NpgsqlDbType.Text);
            copy.Write(PostgresSearchIndex.Words(merged.Description), NpgsqlDbType.Text);
            if (published)
            {
                vocabulary.UnionWith(TextFold.Words(merged.Title + " " + tagText + " " + merged.Description).Where(SpellingVocabulary.Admits));
            }
        }

        copy.Complete();
        return [.. vocabulary];
    }

    private static void WriteText(NpgsqlBinaryImporter copy, string? value)
    {
        if (value is null)
        {
            copy.WriteNull();
        }
        else
        {
            copy.Write(value, NpgsqlDbType.Text);
        }
    }
}
