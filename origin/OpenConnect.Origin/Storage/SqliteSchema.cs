using System.Globalization;
using Microsoft.Data.Sqlite;

namespace OpenConnect.Origin.Storage;

/// <summary>
/// Versioned schemas for the origin's SQLite databases: migration <c>i</c> takes the database from
/// <c>PRAGMA user_version</c> <c>i</c> to <c>i + 1</c>, each in its own transaction, so a crash leaves
/// the database at a version it had.
/// </summary>
public static class SqliteSchema
{
    /// <summary>Applies the migrations the database lacks; refuses a database newer than this build.</summary>
    /// <param name="connection">An open connection.</param>
    /// <param name="migrations">The migrations, oldest first.</param>
    /// <param name="databaseName">The file name used in the error, e.g. <c>pipeline.db</c>.</param>
    public static void Migrate(SqliteConnection connection, IReadOnlyList<string> migrations, string databaseName)
    {
        using var version = connection.CreateCommand();
        version.CommandText = "PRAGMA user_version";
        var current = Convert.ToInt32(version.ExecuteScalar(), CultureInfo.InvariantCulture);
        if (current > migrations.Count)
        {
            throw new InvalidOperationException($"{databaseName} has schema version {current}, newer than this build understands ({migrations.Count})");
        }

        for (var i = current; i < migrations.Count; i++)
        {
            using var transaction = connection.BeginTransaction();
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = migrations[i] + $"\nPRAGMA user_version = {i + 1};";
            command.ExecuteNonQuery();
            transaction.Commit();
        }
    }

    /// <summary>Runs a statement that returns nothing (pragmas, DDL).</summary>
    public static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
