using System.Data.Common;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Npgsql;
using OpenConnect.Origin.Catalog.Search;

namespace OpenConnect.Origin.Catalog;

/// <summary>
/// The catalog's database: SQLite (<c>{DataDirectory}/catalog.db</c>, WAL) by default, or PostgreSQL
/// (<c>Origin:Catalog:Database</c>). Readers open pooled connections freely; writers go through
/// <see cref="WriteAsync{T}"/>, one transaction at a time per process, so a write never waits on
/// SQLite's busy handler. The stores' SQL is shared; what differs between the engines lives in
/// <see cref="Dialect"/> and <see cref="Search"/>.
/// </summary>
public sealed class CatalogDatabase : IDisposable
{
    private static readonly object Mapped = new();
    private readonly string? _sqlite;
    private readonly NpgsqlDataSource? _postgres;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConditionalWeakTable<SQLitePCL.sqlite3, object> _mapped = new();
    private readonly long _mmapBytes;

    public CatalogDatabase(IOptions<OriginOptions> options)
    {
        var settings = options.Value.Catalog.Database;
        if (settings.IsPostgreSql)
        {
            _postgres = NpgsqlDataSource.Create(settings.ResolveConnectionString("Origin:Catalog:Database"));
            Dialect = CatalogDialect.PostgreSql;
            Search = PostgresSearchIndex.Instance;
            var builder = new NpgsqlConnectionStringBuilder(_postgres.ConnectionString);
            Location = $"PostgreSQL database '{builder.Database}' at {builder.Host}:{builder.Port}";
            MigratePostgres(builder);
            return;
        }

        Directory.CreateDirectory(options.Value.DataDirectory);
        var path = Path.Combine(options.Value.DataDirectory, "catalog.db");
        Location = path;
        Dialect = CatalogDialect.Sqlite;
        Search = SqliteSearchIndex.Instance;
        _mmapBytes = options.Value.Catalog.MmapBytes;
        _sqlite = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        using var connection = (SqliteConnection)Open();
        using (var wal = connection.Command("PRAGMA journal_mode=WAL;"))
        {
            wal.ExecuteNonQuery();
        }

        CatalogSchema.Migrate(connection);
    }

    /// <summary>Where the catalog lives, for messages: the SQLite file, or the PostgreSQL database, host and port (never the password).</summary>
    public string Location { get; }

    public CatalogDialect Dialect { get; }

    internal SearchIndex Search { get; }

    public DbConnection Open()
    {
        if (_postgres is not null)
        {
            return _postgres.OpenConnection();
        }

        var connection = new SqliteConnection(_sqlite);
        connection.Open();
        if (_mmapBytes > 0 && connection.Handle is { } handle && _mapped.TryAdd(handle, Mapped))
        {
            // Once per native connection: the pool hands the same handle back, with its settings.
            using var pragma = connection.Command(string.Create(CultureInfo.InvariantCulture, $"PRAGMA mmap_size = {_mmapBytes};"));
            pragma.ExecuteNonQuery();
        }

        return connection;
    }

    /// <summary>Compacts the search indexes (see <see cref="SearchIndex.Optimize"/>). Holds the write lock while it runs; readers are not blocked.</summary>
    public Task OptimizeSearchAsync(CancellationToken ct) => WriteAsync((connection, transaction) =>
    {
        Search.Optimize(connection, transaction);
        return 0;
    }, ct);

    /// <summary>Runs <paramref name="work"/> in one transaction, committed when it returns.</summary>
    public async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, T> work, CancellationToken ct)
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

    public void Dispose()
    {
        _postgres?.Dispose();
        _writeLock.Dispose();
    }

    private void MigratePostgres(NpgsqlConnectionStringBuilder builder)
    {
        try
        {
            using var connection = (NpgsqlConnection)Open();
            PostgresCatalogSchema.Migrate(connection);
        }
        catch (Exception ex) when (ex is NpgsqlException { InnerException: SocketException or TimeoutException or IOException } or SocketException)
        {
            throw new InvalidOperationException(
                $"Origin:Catalog:Database: cannot reach PostgreSQL at {builder.Host}:{builder.Port}: {ex.InnerException?.Message ?? ex.Message}", ex);
        }
        catch (PostgresException ex)
        {
            throw new InvalidOperationException(
                $"Origin:Catalog:Database: PostgreSQL at {builder.Host}:{builder.Port} refused the catalog (database '{builder.Database}'): {ex.SqlState} {ex.MessageText}", ex);
        }
    }
}

/// <summary>Small helpers that keep the SQL call sites short. Parameters are <c>@name</c>, which both engines accept.</summary>
internal static class DbExtensions
{
    public static DbCommand Command(this DbConnection connection, string sql, DbTransaction? transaction = null)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    public static DbCommand With(this DbCommand command, string name, object? value)
    {
        command.Parameter(name).Value = value ?? DBNull.Value;
        return command;
    }

    /// <summary>Adds a parameter whose value is set per execution (a prepared loop).</summary>
    public static DbParameter Parameter(this DbCommand command, string name)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        command.Parameters.Add(parameter);
        return parameter;
    }

    public static string? StringOrNull(this DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static long? Int64OrNull(this DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);

    public static double? DoubleOrNull(this DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetDouble(ordinal);
}
