using Microsoft.Data.Sqlite;
using OpenConnect.Origin.Pipeline;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Pipeline;

public sealed class TitleStoreSchemaTests
{
    /// <summary>The first schema, as builds before the uploader index wrote it.</summary>
    private const string VersionOne = """
        CREATE TABLE titles (
            id TEXT PRIMARY KEY, upload_id TEXT NOT NULL UNIQUE, state TEXT NOT NULL, step TEXT,
            percent REAL NOT NULL DEFAULT 0, reason TEXT, metadata TEXT NOT NULL, upload_path TEXT NOT NULL,
            source_file TEXT, source TEXT, renditions TEXT, created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL, published_at INTEGER, next_attempt_at INTEGER);
        CREATE INDEX titles_state ON titles(state, created_at);
        CREATE INDEX titles_created ON titles(created_at);
        CREATE TABLE steps (
            title_id TEXT NOT NULL REFERENCES titles(id), name TEXT NOT NULL, state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, started_at INTEGER, finished_at INTEGER, error TEXT,
            PRIMARY KEY (title_id, name));
        INSERT INTO titles (id, upload_id, state, reason, metadata, upload_path, created_at, updated_at) VALUES
            ('aaaaaaaaaaa', 'u-1', 'rejected', 'not a video', '{"uploader_id":"ann","title":"One"}', '/x', 1, 1),
            ('bbbbbbbbbbb', 'u-2', 'rejected', 'not a video', '{"uploader_id":"bob","title":"Two"}', '/y', 2, 2),
            ('ccccccccccc', 'u-3', 'rejected', 'not a video', '{"title":"Anonymous"}', '/z', 3, 3);
        PRAGMA user_version = 1;
        """;

    [Fact]
    public void AVersionOneDatabase_IsMigrated_AndListsByUploader()
    {
        using var dir = new TempDirectory();
        var path = dir.Combine("pipeline.db");
        Execute(path, VersionOne);

        var store = new TitleStore(path, TimeProvider.System);

        Assert.Equal(2L, Scalar(path, "PRAGMA user_version"));
        Assert.Equal(1L, Scalar(path, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'titles_uploader'"));
        Assert.Equal(["aaaaaaaaaaa"], store.ListByUploader("ann", withAnonymous: false, 10).Select(t => t.Id));
        Assert.Equal(["ccccccccccc", "aaaaaaaaaaa"], store.ListByUploader("ann", withAnonymous: true, 10).Select(t => t.Id));
        Assert.Equal(["ccccccccccc"], store.ListByUploader("", withAnonymous: true, 10).Select(t => t.Id));
        Assert.Empty(store.ListByUploader("carol", withAnonymous: false, 10));
        Assert.Single(store.ListByUploader("ann", withAnonymous: true, 1));
    }

    [Fact]
    public void ADatabaseFromANewerBuild_IsRefused()
    {
        using var dir = new TempDirectory();
        var path = dir.Combine("pipeline.db");
        Execute(path, VersionOne.Replace("PRAGMA user_version = 1;", "PRAGMA user_version = 3;", StringComparison.Ordinal));

        var ex = Assert.Throws<InvalidOperationException>(() => new TitleStore(path, TimeProvider.System));
        Assert.Contains("schema version 3, newer than this build understands (2)", ex.Message, StringComparison.Ordinal);
    }

    private static void Execute(string path, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(string path, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
