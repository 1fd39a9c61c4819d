using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using OpenConnect.Hosting.Database;

namespace OpenConnect.FillController.State;

/// <summary>
/// The engine the fill controller's stores run on, handing out open connections: SQLite (one file
/// per store in the data directory, WAL) or PostgreSQL (one database, the stores' tables in the
/// schema <see cref="PostgresSchema"/>, pooled connections). The stores' SQL is the same on both
/// (<c>@name</c> parameters, <c>ON CONFLICT</c>); their schemas differ by type names only.
/// </summary>
public sealed class StateDatabase : IDisposable
{
    /// <summary>The PostgreSQL schema holding the fill controller's tables (apart from any other role's sharing the database).</summary>
    public const string PostgresSchema = "fill_controller";

    private readonly string? _directory;
    private readonly NpgsqlDataSource? _postgres;
    private readonly NpgsqlDataSource? _unpooled;

    private StateDatabase(string? directory, NpgsqlDataSource? postgres, NpgsqlDataSource? unpooled)
    {
        _directory = directory;
        _postgres = postgres;
        _unpooled = unpooled;
    }

    public DatabaseProvider Provider => _postgres is null ? DatabaseProvider.Sqlite : DatabaseProvider.PostgreSql;

    /// <summary>Where the state is, for messages: the data directory, or PostgreSQL's host and port and database (never the password).</summary>
    public string Describe { get; private init; } = "";

    /// <summary>SQLite files in <paramref name="directory"/> (created when missing).</summary>
    public static StateDatabase Sqlite(string directory)
    {
        Directory.CreateDirectory(directory);
        return new StateDatabase(directory, null, null) { Describe = $"SQLite in {directory}" };
    }

    /// <summary>The PostgreSQL database <paramref name="connectionString"/> names, tables in <see cref="PostgresSchema"/>.</summary>
    public static StateDatabase PostgreSql(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { SearchPath = PostgresSchema };
        var unpooled = new NpgsqlConnectionStringBuilder(builder.ConnectionString) { Pooling = false };
        return new StateDatabase(null, NpgsqlDataSource.Create(builder), NpgsqlDataSource.Create(unpooled))
        {
            Describe = $"PostgreSQL at {builder.Host}:{builder.Port}, database {builder.Database ?? builder.Username}",
        };
    }

    /// <summary>The engine <paramref name="options"/> configure.</summary>
    public static StateDatabase Create(FillControllerOptions options) => options.Database.Provider switch
    {
        DatabaseProvider.PostgreSql => PostgreSql(options.Database.ResolveConnectionString($"{FillControllerOptions.SectionName}:Database")),
        _ => Sqlite(options.DataDirectory),
    };

    /// <summary>An open connection for a store whose SQLite file is <paramref name="sqliteFile"/> (PostgreSQL: the shared database).</summary>
    public DbConnection Open(string sqliteFile) => _postgres is not null ? OpenPostgres(_postgres) : OpenSqlite(sqliteFile);

    /// <summary>
    /// A PostgreSQL connection of its own, outside the pool: its session (and the session-level locks
    /// it takes) ends when it is disposed, not when a pooled connection is eventually closed.
    /// </summary>
    public DbConnection OpenSession() => OpenPostgres(_unpooled ?? throw new InvalidOperationException("a session of its own is a PostgreSQL connection"));

    /// <summary>A unit of work on a connection of its own (in one transaction when <paramref name="transaction"/>).</summary>
    public StateSession Session(string sqliteFile, bool transaction = false) => new(Open(sqliteFile), Provider, transaction);

    public void Dispose()
    {
        _postgres?.Dispose();
        _unpooled?.Dispose();
    }

    private NpgsqlConnection OpenPostgres(NpgsqlDataSource source)
    {
        try
        {
            return source.OpenConnection();
        }
        catch (NpgsqlException ex)
        {
            // Refused, timed out, or refused the login: the message names the server, never the password.
            throw new StateUnavailableException($"{FillControllerOptions.SectionName}:Database: cannot open {Describe}: {ex.Message}", ex);
        }
    }

    private SqliteConnection OpenSqlite(string sqliteFile)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(_directory!, sqliteFile),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA synchronous=NORMAL;";
        command.ExecuteNonQuery();
        return connection;
    }
}

/// <summary>The state database cannot be reached (PostgreSQL down or unreachable); the message names where it was looked for.</summary>
public sealed class StateUnavailableException(string message, Exception inner) : Exception(message, inner);
