using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

// The catalog tests build databases at older schema versions to test the upgrades.
[assembly: InternalsVisibleTo("OpenConnect.Origin.Tests")]

namespace OpenConnect.Origin.Catalog;

/// <summary>
/// Versioned schema: each migration runs once, in its own transaction, and is recorded in
/// <c>schema_migrations</c>. New versions are appended; applied ones are never edited.
/// </summary>
internal static class CatalogSchema
{
    private static readonly string[] Migrations =
    [
        // 1: users, tokens, channels, titles with their search index, social tables, notifications.
        """
        CREATE TABLE users (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE tokens (
            hash BLOB PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            expires_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX tokens_expiry ON tokens(expires_at);
        CREATE TABLE channels (
            id TEXT PRIMARY KEY,
            owner_id TEXT NOT NULL REFERENCES users(id),
            name TEXT NOT NULL,
            description TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX channels_owner ON channels(owner_id);
        CREATE TABLE titles (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            uploader_id TEXT,
            channel_id TEXT,
            title TEXT NOT NULL,
            description TEXT NOT NULL,
            tags TEXT NOT NULL,
            status TEXT NOT NULL,
            failure_reason TEXT,
            duration REAL,
            renditions TEXT NOT NULL,
            hls_url TEXT,
            dash_url TEXT,
            poster_url TEXT,
            storyboard_url TEXT,
            created_at INTEGER NOT NULL,
            published_at INTEGER,
            updated_at INTEGER NOT NULL,
            views INTEGER NOT NULL DEFAULT 0,
            likes INTEGER NOT NULL DEFAULT 0,
            dislikes INTEGER NOT NULL DEFAULT 0,
            hot_score REAL NOT NULL DEFAULT 0,
            fold_title TEXT NOT NULL,
            fold_all TEXT NOT NULL
        );
        CREATE INDEX titles_published ON titles(status, published_at DESC, seq DESC);
        CREATE INDEX titles_channel ON titles(channel_id, published_at DESC);
        CREATE INDEX titles_views ON titles(status, views DESC);
        CREATE INDEX titles_hot ON titles(status, hot_score DESC);
        CREATE TABLE title_tags (
            seq INTEGER NOT NULL,
            tag TEXT NOT NULL,
            PRIMARY KEY (tag, seq)
        ) WITHOUT ROWID;
        CREATE VIRTUAL TABLE titles_fts USING fts5(title, tags, description, tokenize = 'trigram remove_diacritics 1');
        CREATE TABLE vocab (id INTEGER PRIMARY KEY, word TEXT NOT NULL UNIQUE);
        CREATE VIRTUAL TABLE vocab_fts USING fts5(word, tokenize = 'trigram remove_diacritics 1');
        CREATE TABLE view_sessions (
            seq INTEGER NOT NULL,
            session TEXT NOT NULL,
            PRIMARY KEY (seq, session)
        ) WITHOUT ROWID;
        CREATE TABLE ratings (
            seq INTEGER NOT NULL,
            user_id TEXT NOT NULL,
            value INTEGER NOT NULL,
            PRIMARY KEY (seq, user_id)
        ) WITHOUT ROWID;
        CREATE TABLE comments (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            seq INTEGER NOT NULL,
            parent_id INTEGER REFERENCES comments(id),
            user_id TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            edited_at INTEGER,
            deleted INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX comments_thread ON comments(seq, parent_id, id);
        CREATE TABLE subscriptions (
            user_id TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (channel_id, user_id)
        ) WITHOUT ROWID;
        CREATE INDEX subscriptions_user ON subscriptions(user_id);
        CREATE TABLE notifications (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            user_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            title_id TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            message TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX notifications_user ON notifications(user_id, id);
        """,

        // 2: the FTS table's own rank is the weighted BM25, so "ORDER BY rank LIMIT n" runs inside FTS5.
        """
        INSERT INTO titles_fts (titles_fts, rank) VALUES ('rank', 'bm25(10.0, 4.0, 1.0)');
        """,

        // 3: re-indexing a title deletes its tag rows by seq; without this index that scans every tag row.
        """
        CREATE INDEX title_tags_seq ON title_tags(seq);
        """,

        // 4: word-tokenized search. The trigram table over title, tags and description made every
        // query read doclists of common trigrams covering most of the catalog; it is replaced by
        // titles_words (title and tags, BM25 10 × 4) and titles_text (title, tags and description in
        // one column), both word-tokenized with prefix indexes for 2-4 letters and contentless (the
        // text lives in titles). The spelling vocabulary keeps its trigram index.
        """
        CREATE VIRTUAL TABLE titles_words USING fts5(title, tags, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4');
        INSERT INTO titles_words (titles_words, rank) VALUES ('rank', 'bm25(10.0, 4.0)');
        CREATE VIRTUAL TABLE titles_text USING fts5(body, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4');
        INSERT INTO titles_words (rowid, title, tags) SELECT rowid, title, tags FROM titles_fts;
        INSERT INTO titles_text (rowid, body) SELECT rowid, title || ' ' || tags || ' ' || description FROM titles_fts;
        DROP TABLE titles_fts;
        """,

        // 5: posters are public at /posters/{id}.jpg (the /v/ path serves parent networks and token
        // holders only, so a page on another network could not show them).
        """
        UPDATE titles SET poster_url = '/posters/' || id || '.jpg' WHERE poster_url = '/v/' || id || '/poster.jpg';
        """,

        // 6: invite codes an admin hands out (each makes one uploader at registration; only the
        // code's SHA-256 is kept), and tokens by user, so a role change revokes a user's tokens.
        """
        CREATE TABLE invites (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            code_hash BLOB NOT NULL UNIQUE,
            created_by TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            used_by TEXT,
            used_at INTEGER,
            revoked_at INTEGER
        );
        CREATE INDEX tokens_user ON tokens(user_id);
        """,
    ];

    public static int LatestVersion => Migrations.Length;

    public static void Migrate(SqliteConnection connection) => Migrate(connection, Migrations.Length);

    /// <summary>Applies the migrations up to <paramref name="targetVersion"/> (tests build older schemas with it).</summary>
    internal static void Migrate(SqliteConnection connection, int targetVersion) =>
        Apply(connection, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);", Migrations, targetVersion);

    /// <summary>
    /// Applies the <paramref name="migrations"/> after the recorded version, up to <paramref name="targetVersion"/>,
    /// each in its own transaction with its row in <c>schema_migrations</c> (made by <paramref name="createTable"/>).
    /// </summary>
    internal static void Apply(DbConnection connection, string createTable, IReadOnlyList<string> migrations, int targetVersion)
    {
        using (var create = connection.Command(createTable))
        {
            create.ExecuteNonQuery();
        }

        long current;
        using (var read = connection.Command("SELECT coalesce(max(version), 0) FROM schema_migrations;"))
        {
            current = (long)read.ExecuteScalar()!;
        }

        for (var version = (int)current + 1; version <= Math.Min(targetVersion, migrations.Count); version++)
        {
            using var transaction = connection.BeginTransaction();
            using (var migrate = connection.Command(migrations[version - 1], transaction))
            {
                migrate.ExecuteNonQuery();
            }

            using (var record = connection.Command("INSERT INTO schema_migrations (version, applied_at) VALUES (@v, @t);", transaction))
            {
                record.With("@v", (long)version).With("@t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()).ExecuteNonQuery();
            }

            transaction.Commit();
        }
    }
}
