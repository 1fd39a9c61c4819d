using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace OpenConnect.Origin.Catalog;

/// <summary>
/// The catalog's SQLite database (<c>{DataDirectory}/catalog.db</c>, WAL). Readers open pooled
/// connections freely; writers go through <see cref="WriteAsync{T}"/>, one transaction at a time,
/// so a write never waits on SQLite's busy handler.
/// </summary>
public sealed class CatalogDatabase
{
    private readonly string _connectionString;
    private static readonly object Mapped = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConditionalWeakTable<SQLitePCL.sqlite3, object> _mapped = new();
    private readonly long _mmapBytes;

    public CatalogDatabase(IOptions<OriginOptions> options)
    {
        Directory.CreateDirectory(options.Value.DataDirectory);
        FilePath = Path.Combine(options.Value.DataDirectory, "catalog.db");
        _mmapBytes = options.Value.Catalog.MmapBytes;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        using var connection = Open();
        using (var wal = connection.CreateCommand())
        {
            wal.CommandText = "PRAGMA journal_mode=WAL;";
            wal.ExecuteNonQuery();
        }

        CatalogSchema.Migrate(connection);
    }

    public string FilePath { get; }

    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        if (_mmapBytes > 0 && connection.Handle is { } handle && _mapped.TryAdd(handle, Mapped))
        {
            // Once per native connection: the pool hands the same handle back, with its settings.
            using var pragma = connection.Command(string.Create(CultureInfo.InvariantCulture, $"PRAGMA mmap_size = {_mmapBytes};"));
            pragma.ExecuteNonQuery();
        }

        return connection;
    }

    /// <summary>
    /// Merges each search index (titles' words, titles' text, the spelling vocabulary) into one FTS5
    /// segment: queries then read one doclist per term instead of one per segment. Holds the write
    /// lock while it runs; readers are not blocked (WAL).
    /// </summary>
    public Task OptimizeSearchAsync(CancellationToken ct) => WriteAsync((connection, transaction) =>
    {
        foreach (var table in (string[])["titles_words", "titles_text", "vocab_fts"])
        {
            using var optimize = connection.Command($"INSERT INTO {table} ({table}) VALUES ('optimize');", transaction);
            optimize.ExecuteNonQuery();
        }

        return 0;
    }, ct);

    /// <summary>Runs <paramref name="work"/> in one transaction, committed when it returns.</summary>
    public async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, T> work, CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct);
        try
        {
            using var connection = Open();
            using var transaction = connection.BeginTransaction();
            var result = work(connection, transaction);
            transaction.Commit();
            return result;
        }
        finally
        {
            _writeLock.Release();
        }
    }
}

/// <summary>Small helpers that keep the SQL call sites short.</summary>
internal static class SqliteExtensions
{
    public static SqliteCommand Command(this SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    public static SqliteCommand With(this SqliteCommand command, string name, object? value)
    {
        command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return command;
    }

    public static string? StringOrNull(this SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static long? Int64OrNull(this SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);

    public static double? DoubleOrNull(this SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetDouble(ordinal);
}
