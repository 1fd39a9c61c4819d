using System.Data.Common;
using System.Globalization;
using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Npgsql;
using OpenConnect.Hosting.Database;
using OpenConnect.Origin.Storage;

namespace OpenConnect.Origin.Pipeline.Jobs;

/// <summary>
/// The engine under the <see cref="JobStore"/>: how to open a connection, migrate the schema, and
/// the few SQL fragments the two engines spell differently. Everything else is one code path.
/// </summary>
public abstract class JobDatabase : IDisposable
{
    /// <summary>A column that orders rows by insertion, for ties (<c>rowid</c> in SQLite, an identity column in PostgreSQL).</summary>
    internal abstract string InsertionOrder { get; }

    /// <summary>Appended to the claim's row selection: skip rows another transaction holds (PostgreSQL); empty where there is one writer (SQLite).</summary>
    internal abstract string SkipLocked { get; }

    /// <summary>The schema version this build writes.</summary>
    internal abstract int SchemaVersion { get; }

    /// <summary>For messages: the engine and where it is (never the password).</summary>
    public abstract string Describe { get; }

    internal abstract DbConnection Open();

    /// <summary>Brings the schema to <see cref="SchemaVersion"/>; refuses a database from a newer build.</summary>
    internal abstract void Migrate();

    /// <summary>Drops idle pooled connections, which a server restart left broken, so the next attempt opens fresh ones.</summary>
    internal virtual void ForgetConnections()
    {
    }

    public virtual void Dispose() => GC.SuppressFinalize(this);

    /// <summary>The SQLite file <paramref name="path"/> (created when missing), WAL and <c>synchronous=FULL</c>.</summary>
    public static JobDatabase Sqlite(string path) => new SqliteJobDatabase(path);

    /// <summary>The PostgreSQL database of <paramref name="connectionString"/>.</summary>
    public static JobDatabase PostgreSql(string connectionString) => new PostgresJobDatabase(connectionString);

    /// <summary>The database <paramref name="options"/> name, SQLite at <paramref name="sqlitePath"/> by default.</summary>
    public static JobDatabase From(DatabaseOptions options, string sqlitePath) =>
        options.IsPostgreSql ? PostgreSql(options.ResolveConnectionString("Origin:Pipeline:Database")) : Sqlite(sqlitePath);
}

internal sealed class SqliteJobDatabase : JobDatabase
{
    private readonly string _connectionString;
    private readonly string _path;

    public SqliteJobDatabase(string path)
    {
        _path = path;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true }.ToString();
    }

    internal override string InsertionOrder => "rowid";

    internal override string SkipLocked => "";

    internal override int SchemaVersion => JobSchema.Sqlite.Count;

    public override string Describe => $"SQLite {_path}";

    internal override DbConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        SqliteSchema.Execute(connection, "PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;");
        return connection;
    }

    internal override void Migrate()
    {
        using var connection = (SqliteConnection)Open();
        SqliteSchema.Execute(connection, "PRAGMA journal_mode=WAL;");
        SqliteSchema.Migrate(connection, JobSchema.Sqlite, Path.GetFileName(_path));
    }
}

internal sealed class PostgresJobDatabase : JobDatabase
{
    /// <summary>Held for the migration's transaction, so two instances starting together migrate one after the other.</summary>
    private const long MigrationLockKey = 0x6f63_7069_7065_6c6e; // "ocpipeln"

    private readonly NpgsqlDataSource _source;
    private readonly string _where;

    public PostgresJobDatabase(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        _where = $"{builder.Host}:{builder.Port.ToString(CultureInfo.InvariantCulture)} database {builder.Database ?? builder.Username}";
        _source = NpgsqlDataSource.Create(builder);
    }

    internal override string InsertionOrder => "seq";

    internal override string SkipLocked => "FOR UPDATE SKIP LOCKED";

    internal override int SchemaVersion => JobSchema.PostgreSql.Count;

    public override string Describe => $"PostgreSQL at {_where}";

    internal override DbConnection Open() => _source.OpenConnection();

    internal override void ForgetConnections() => _source.Clear();

    internal override void Migrate()
    {
        try
        {
            using var connection = _source.OpenConnection();
            using var transaction = connection.BeginTransaction();
            Execute(connection, transaction, $"SELECT pg_advisory_xact_lock({MigrationLockKey})");
            Execute(connection, transaction, "CREATE TABLE IF NOT EXISTS pipeline_schema_version (version INTEGER NOT NULL)");
            using var read = new NpgsqlCommand("SELECT MAX(version) FROM pipeline_schema_version", connection, transaction);
            var current = read.ExecuteScalar() is int v ? v : 0;
            var migrations = JobSchema.PostgreSql;
            if (current > migrations.Count)
            {
                throw new InvalidOperationException($"the pipeline's tables in {Describe} have schema version {current}, newer than this build understands ({migrations.Count})");
            }

            for (var i = current; i < migrations.Count; i++)
            {
                Execute(connection, transaction, migrations[i]);
                Execute(connection, transaction, $"INSERT INTO pipeline_schema_version (version) VALUES ({i + 1})");
            }

            transaction.Commit();
        }
        catch (Exception ex) when (ex is NpgsqlException { InnerException: SocketException or TimeoutException or IOException } or SocketException)
        {
            throw new InvalidOperationException($"cannot reach the pipeline's database, {Describe}: {ex.InnerException?.Message ?? ex.Message}", ex);
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification or PostgresErrorCodes.InvalidCatalogName)
        {
            throw new InvalidOperationException($"cannot use the pipeline's database, {Describe}: {ex.MessageText}", ex);
        }
    }

    public override void Dispose()
    {
        _source.Dispose();
        base.Dispose();
    }

    private static void Execute(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql)
    {
        using var command = new NpgsqlCommand(sql, connection, transaction);
        command.ExecuteNonQuery();
    }
}
