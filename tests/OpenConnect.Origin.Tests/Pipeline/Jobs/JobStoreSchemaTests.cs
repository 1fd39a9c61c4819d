using Microsoft.Data.Sqlite;
using Npgsql;
using OpenConnect.Origin.Pipeline;
using OpenConnect.Origin.Pipeline.Jobs;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Pipeline.Jobs;

/// <summary>The job store's schema: migrated from the previous version with its rows kept, refused when newer, migrated once when instances start together.</summary>
public sealed class JobStoreSchemaTests
{
    /// <summary>The SQLite schema at version 2, as the builds before the job store wrote it, with rows.</summary>
    private const string SqliteVersionTwo = """
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
        CREATE INDEX titles_uploader ON titles(IFNULL(json_extract(metadata, '$.uploader_id'), ''), created_at);
        INSERT INTO titles (id, upload_id, state, reason, metadata, upload_path, source, created_at, updated_at) VALUES
            ('aaaaaaaaaaa', 'u-1', 'published', NULL, '{"uploader_id":"ann","title":"One"}', '/x', '{"Container":"mov","DurationSeconds":30.5,"Width":640,"Height":360,"VideoCodec":"h264","FrameRate":25,"AudioCodec":null}', 1, 1),
            ('bbbbbbbbbbb', 'u-2', 'rejected', 'not a video', '{"uploader_id":"bob","title":"Two"}', '/y', NULL, 2, 2),
            ('ccccccccccc', 'u-3', 'processing', NULL, '{"title":"Anonymous"}', '/z', NULL, 3, 3);
        INSERT INTO steps (title_id, name, state, attempts, started_at, finished_at) VALUES ('ccccccccccc', 'probe', 'done', 1, 3, 4);
        PRAGMA user_version = 2;
        """;

    /// <summary>The PostgreSQL schema at version 2 (titles, steps and chunk jobs, before title claims), with rows.</summary>
    private const string PostgresVersionTwo = """
        CREATE TABLE pipeline_schema_version (version INTEGER NOT NULL);
        INSERT INTO pipeline_schema_version VALUES (1), (2);
        CREATE TABLE titles (
            seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE, id TEXT PRIMARY KEY, upload_id TEXT NOT NULL UNIQUE,
            state TEXT NOT NULL, step TEXT, percent DOUBLE PRECISION NOT NULL DEFAULT 0, reason TEXT,
            metadata TEXT NOT NULL, uploader TEXT NOT NULL DEFAULT '', upload_path TEXT NOT NULL, source_file TEXT,
            source TEXT, source_seconds DOUBLE PRECISION, renditions TEXT, created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL, published_at BIGINT, next_attempt_at BIGINT);
        CREATE INDEX titles_state ON titles(state, created_at);
        CREATE INDEX titles_created ON titles(created_at);
        CREATE INDEX titles_uploader ON titles(uploader, created_at);
        CREATE TABLE steps (
            seq BIGINT GENERATED ALWAYS AS IDENTITY, title_id TEXT NOT NULL REFERENCES titles(id), name TEXT NOT NULL,
            state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, started_at BIGINT, finished_at BIGINT, error TEXT,
            PRIMARY KEY (title_id, name));
        INSERT INTO titles (id, upload_id, state, metadata, uploader, upload_path, source_seconds, created_at, updated_at) VALUES
            ('aaaaaaaaaaa', 'u-1', 'published', '{"uploader_id":"ann"}', 'ann', '/x', 30.5, 1, 1),
            ('ccccccccccc', 'u-3', 'processing', '{}', '', '/z', NULL, 3, 3);
        INSERT INTO steps (title_id, name, state, attempts, started_at, finished_at) VALUES ('ccccccccccc', 'probe', 'done', 1, 3, 4);
        CREATE TABLE chunk_jobs (
            title_id TEXT NOT NULL REFERENCES titles(id), chunk INTEGER NOT NULL, ordinal INTEGER NOT NULL, state TEXT NOT NULL,
            spec TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, lease_token TEXT, lease_owner TEXT, lease_until BIGINT,
            not_before BIGINT NOT NULL DEFAULT 0, progress DOUBLE PRECISION NOT NULL DEFAULT 0, output TEXT, error TEXT,
            created_at BIGINT NOT NULL, started_at BIGINT, finished_at BIGINT, PRIMARY KEY (title_id, chunk));
        CREATE INDEX chunk_jobs_claim ON chunk_jobs(state, created_at, ordinal);
        INSERT INTO chunk_jobs (title_id, chunk, ordinal, state, spec, attempts, output, created_at) VALUES
            ('ccccccccccc', 1, 0, 'done', '{}', 1, 'work/ccccccccccc/encodes/jobs/00001-x', 3),
            ('ccccccccccc', 2, 1, 'queued', '{"chunk":2}', 0, NULL, 3);
        """;

    [Fact]
    public void ASqliteDatabaseAtThePreviousVersion_IsMigrated_AndKeepsItsRows()
    {
        using var dir = new TempDirectory();
        var path = dir.Combine("pipeline.db");
        ExecuteSqlite(path, SqliteVersionTwo);

        using var store = JobStore.OpenSqlite(path, TimeProvider.System);

        Assert.Equal((long)store.SchemaVersion, ScalarSqlite(path, "PRAGMA user_version"));
        Assert.Equal(["aaaaaaaaaaa"], store.ListByUploader("ann", withAnonymous: false, 10).Select(t => t.Id));
        Assert.Equal(["ccccccccccc", "aaaaaaaaaaa"], store.ListByUploader("ann", withAnonymous: true, 10).Select(t => t.Id));
        Assert.Equal(["bbbbbbbbbbb"], store.ListByUploader("bob", withAnonymous: false, 10).Select(t => t.Id));
        Assert.Equal(TimeSpan.FromSeconds(30.5), store.UsageOf("ann", DateTimeOffset.UnixEpoch).SourceDuration);
        Assert.Equal(["ccccccccccc"], store.Unfinished().Select(t => t.Id));
        Assert.Equal("probe", Assert.Single(store.Steps("ccccccccccc")).Name);
        Assert.Equal(0L, ScalarSqlite(path, "SELECT COUNT(*) FROM chunk_jobs"));
        Assert.True(store.ClaimTitle("ccccccccccc", "host/1/titles", TimeSpan.FromSeconds(30)));
        Assert.False(store.ClaimTitle("aaaaaaaaaaa", "host/1/titles", TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void ASqliteDatabaseFromANewerBuild_IsRefused()
    {
        using var dir = new TempDirectory();
        var path = dir.Combine("pipeline.db");
        ExecuteSqlite(path, SqliteVersionTwo.Replace("PRAGMA user_version = 2;", "PRAGMA user_version = 99;", StringComparison.Ordinal));

        var ex = Assert.Throws<InvalidOperationException>(() => JobStore.OpenSqlite(path, TimeProvider.System));
        Assert.Contains("schema version 99, newer than this build understands", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APostgresDatabaseAtThePreviousVersion_IsMigrated_AndKeepsItsRows()
    {
        await using var engine = await PostgresEngine.CreateAsync();
        await ExecutePostgresAsync(engine.ConnectionString, PostgresVersionTwo);

        var store = engine.Open(TimeProvider.System);

        Assert.Equal(store.SchemaVersion, await ScalarPostgresAsync(engine.ConnectionString, "SELECT MAX(version) FROM pipeline_schema_version"));
        Assert.Equal(["aaaaaaaaaaa"], store.ListByUploader("ann", withAnonymous: false, 10).Select(t => t.Id));
        Assert.Equal(TimeSpan.FromSeconds(30.5), store.UsageOf("ann", DateTimeOffset.UnixEpoch).SourceDuration);
        Assert.Equal(["ccccccccccc"], store.Unfinished().Select(t => t.Id));
        Assert.Equal("probe", Assert.Single(store.Steps("ccccccccccc")).Name);
        Assert.Equal([(1, ChunkJobStates.Done, "work/ccccccccccc/encodes/jobs/00001-x"), (2, ChunkJobStates.Queued, null)], store.ChunkJobs("ccccccccccc").Select(j => (j.Chunk, j.State, j.Output)));
        Assert.True(store.ClaimTitle("ccccccccccc", "host/1/titles", TimeSpan.FromSeconds(30)));
        Assert.Equal(("ccccccccccc", 2, "{\"chunk\":2}"), store.ClaimChunk("w", TimeSpan.FromSeconds(30), maxAttempts: 3) is { } c ? (c.TitleId, c.Chunk, c.Spec) : default);
    }

    [Fact]
    public async Task APostgresDatabaseFromANewerBuild_IsRefused()
    {
        await using var engine = await PostgresEngine.CreateAsync();
        await ExecutePostgresAsync(engine.ConnectionString, "CREATE TABLE pipeline_schema_version (version INTEGER NOT NULL); INSERT INTO pipeline_schema_version VALUES (99);");

        var ex = Assert.Throws<InvalidOperationException>(() => engine.Open(TimeProvider.System));
        Assert.Contains("schema version 99, newer than this build understands", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StoresStartingTogetherOnAnEmptyPostgresDatabase_MigrateItOnce()
    {
        await using var engine = await PostgresEngine.CreateAsync();

        var stores = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => engine.Open(TimeProvider.System))));

        Assert.Equal(
            Enumerable.Range(1, stores[0].SchemaVersion).Select(v => (object)v),
            await ColumnPostgresAsync(engine.ConnectionString, "SELECT version FROM pipeline_schema_version ORDER BY version"));
        stores[0].Insert("aaaaaaaaaaa", "u-1", TitleStates.Queued, null, new Dictionary<string, string>(), "/x", null, null);
        Assert.All(stores, s => Assert.NotNull(s.Get("aaaaaaaaaaa")));
    }

    [Fact]
    public void APostgresThatDoesNotAnswer_IsAClearErrorNamingHostAndPort()
    {
        var port = RoleProcess.FreePort();
        var ex = Assert.Throws<InvalidOperationException>(() => JobStore.OpenPostgreSql($"Host=127.0.0.1;Port={port};Database=jobs;Username=origin;Password=secret-word;Timeout=3", TimeProvider.System));

        Assert.StartsWith($"cannot reach the pipeline's database, PostgreSQL at 127.0.0.1:{port} database jobs: ", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-word", ex.Message, StringComparison.Ordinal);
    }

    private static void ExecuteSqlite(string path, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static object? ScalarSqlite(string path, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static async Task ExecutePostgresAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<object?> ScalarPostgresAsync(string connectionString, string sql) => (await ColumnPostgresAsync(connectionString, sql)).Single();

    private static async Task<List<object?>> ColumnPostgresAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<object?>();
        while (await reader.ReadAsync())
        {
            values.Add(reader.GetValue(0));
        }

        return values;
    }
}
