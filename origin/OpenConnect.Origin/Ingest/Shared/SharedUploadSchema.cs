using System.Data.Common;
using System.Net.Sockets;
using Npgsql;
using OpenConnect.Origin.Pipeline.Jobs;

namespace OpenConnect.Origin.Ingest.Shared;

/// <summary>
/// The shared upload store's table in the pipeline's PostgreSQL database, versioned in
/// <c>ingest_schema_version</c>; migration <c>i</c> takes it from version <c>i</c> to <c>i + 1</c>,
/// applied at start under an advisory lock so instances starting together migrate once.
/// </summary>
internal static class SharedUploadSchema
{
    /// <summary>First key of the per-upload advisory locks (<c>pg_try_advisory_lock(LockClass, key)</c>): "ocin".</summary>
    public const int LockClass = 0x6f63_696e;

    /// <summary>Held for the migration's transaction: "ocingsch".</summary>
    private const long MigrationLockKey = 0x6f63_696e_6773_6368;

    /// <summary>
    /// Version 1: one row per upload: the record (JSON, as the local store writes it), the committed
    /// offset (the column conditional updates compare), the S3 multipart upload id, its committed
    /// parts (JSON) and the object holding the bytes past the last part.
    /// </summary>
    private const string Uploads = """
        CREATE TABLE ingest_uploads (
            id TEXT PRIMARY KEY,
            record TEXT NOT NULL,
            upload_offset BIGINT NOT NULL,
            multipart_id TEXT,
            parts TEXT NOT NULL DEFAULT '[]',
            tail_key TEXT,
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )
        """;

    /// <summary>Version 2: the source object the multipart upload was completed into, so completion is done once.</summary>
    private const string SourceKey = "ALTER TABLE ingest_uploads ADD COLUMN source_key TEXT";

    public static IReadOnlyList<string> Migrations { get; } = [Uploads, SourceKey];

    /// <summary>Brings the table to the newest version; a database from a newer build, or one that cannot be reached, is a clear error.</summary>
    public static void Migrate(JobDatabase database)
    {
        try
        {
            using var connection = database.Open();
            using var transaction = connection.BeginTransaction();
            Execute(connection, transaction, $"SELECT pg_advisory_xact_lock({MigrationLockKey})");
            Execute(connection, transaction, "CREATE TABLE IF NOT EXISTS ingest_schema_version (version INTEGER NOT NULL)");
            using var read = connection.CreateCommand();
            read.Transaction = transaction;
            read.CommandText = "SELECT MAX(version) FROM ingest_schema_version";
            var current = read.ExecuteScalar() is int v ? v : 0;
            if (current > Migrations.Count)
            {
                throw new InvalidOperationException($"the upload tables in {database.Describe} have schema version {current}, newer than this build understands ({Migrations.Count})");
            }

            for (var i = current; i < Migrations.Count; i++)
            {
                Execute(connection, transaction, Migrations[i]);
                Execute(connection, transaction, $"INSERT INTO ingest_schema_version (version) VALUES ({i + 1})");
            }

            transaction.Commit();
        }
        catch (Exception ex) when (ex is NpgsqlException { InnerException: SocketException or TimeoutException or IOException } or SocketException)
        {
            throw new InvalidOperationException($"cannot reach the upload database (Origin:Ingest:Store=Shared), {database.Describe}: {ex.InnerException?.Message ?? ex.Message}", ex);
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification or PostgresErrorCodes.InvalidCatalogName)
        {
            throw new InvalidOperationException($"cannot use the upload database (Origin:Ingest:Store=Shared), {database.Describe}: {ex.MessageText}", ex);
        }
    }

    private static void Execute(DbConnection connection, DbTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
