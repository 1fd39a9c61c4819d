using System.Globalization;
using System.Text.RegularExpressions;
using OpenConnect.Hosting.Database;

namespace OpenConnect.FillController.State;

/// <summary>One schema version: its DDL for each engine (the same tables; type names differ).</summary>
public sealed partial record Migration(string Sqlite, string PostgreSql)
{
    /// <summary>
    /// A migration written in SQLite's DDL, translated for PostgreSQL: <c>INTEGER</c> becomes
    /// <c>BIGINT</c> (SQLite's integers are 64-bit), <c>BLOB</c> becomes <c>BYTEA</c>, and
    /// <c>WITHOUT ROWID</c> (a SQLite storage layout) goes.
    /// </summary>
    public static Migration FromSqlite(string ddl) =>
        new(ddl, WithoutRowid().Replace(Blob().Replace(Integer().Replace(ddl, "BIGINT"), "BYTEA"), ""));

    [GeneratedRegex(@"\bINTEGER\b")]
    private static partial Regex Integer();

    [GeneratedRegex(@"\bBLOB\b")]
    private static partial Regex Blob();

    [GeneratedRegex(@"\s+WITHOUT ROWID")]
    private static partial Regex WithoutRowid();
}

/// <summary>
/// Versioned schema migrations of one store. The applied versions are rows of
/// <c>versionTable</c>; at start the missing ones are applied in order, in one transaction, which on
/// PostgreSQL first takes a transaction-scoped advisory lock (<see cref="LockKey"/>), so controllers
/// starting together against one database migrate one after the other and the second finds the work done.
/// A database newer than this build is refused rather than used.
/// </summary>
public static class SchemaMigrations
{
    /// <summary>The advisory lock key of the fill controller's migrations (ASCII "OCFC" and 1).</summary>
    public const long LockKey = 0x4F43_4643_0000_0001;

    /// <param name="database">The engine.</param>
    /// <param name="sqliteFile">The store's SQLite file.</param>
    /// <param name="versionTable">The table recording applied versions.</param>
    /// <param name="migrations">Version n is <c>migrations[n - 1]</c>.</param>
    /// <param name="existingVersion">
    /// For a SQLite file that predates <paramref name="versionTable"/>: the version its tables are at
    /// (0 when it is empty), read before the table is created. PostgreSQL support came with versioning.
    /// </param>
    /// <param name="upTo">Stop at this version (tests build a database of an earlier version); null: the newest.</param>
    /// <returns>The schema version after migration.</returns>
    public static int Apply(StateDatabase database, string sqliteFile, string versionTable, IReadOnlyList<Migration> migrations, Func<StateSession, int>? existingVersion = null, int? upTo = null)
    {
        var target = upTo ?? migrations.Count;
        if (database.Provider == DatabaseProvider.Sqlite)
        {
            // Persistent for the file, and not allowed inside a transaction.
            using var setup = database.Session(sqliteFile);
            setup.Execute("PRAGMA journal_mode=WAL;");
        }

        using var session = database.Session(sqliteFile, transaction: true);
        bool exists;
        if (database.Provider == DatabaseProvider.PostgreSql)
        {
            session.LockUntilCommit(LockKey);
            session.Execute($"CREATE SCHEMA IF NOT EXISTS {StateDatabase.PostgresSchema}");
            exists = session.Scalar("SELECT COUNT(*) FROM pg_tables WHERE schemaname = @schema AND tablename = @table", ("@schema", StateDatabase.PostgresSchema), ("@table", versionTable)) > 0;
        }
        else
        {
            exists = session.Scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = @table", ("@table", versionTable)) > 0;
        }

        if (!exists)
        {
            var found = database.Provider == DatabaseProvider.Sqlite ? existingVersion?.Invoke(session) ?? 0 : 0;
            session.Execute($"CREATE TABLE {versionTable} (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
            for (var v = 1; v <= found; v++)
            {
                Record(session, versionTable, v);
            }
        }

        var version = (int)session.Scalar($"SELECT COALESCE(MAX(version), 0) FROM {versionTable}");
        if (version > migrations.Count)
        {
            throw new InvalidOperationException($"{database.Describe}: table {versionTable} says schema version {version}, newer than this build knows ({migrations.Count}); run a newer fill controller");
        }

        for (var v = version + 1; v <= target; v++)
        {
            var migration = migrations[v - 1];
            session.Execute(database.Provider == DatabaseProvider.PostgreSql ? migration.PostgreSql : migration.Sqlite);
            Record(session, versionTable, v);
        }

        session.Commit();
        return Math.Max(version, target);
    }

    private static void Record(StateSession session, string versionTable, int version) =>
        session.Execute($"INSERT INTO {versionTable} (version, applied_at) VALUES (@v, @at)", ("@v", version), ("@at", DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture)));
}
