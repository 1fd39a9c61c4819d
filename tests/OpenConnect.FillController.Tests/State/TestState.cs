using Microsoft.Data.Sqlite;
using OpenConnect.FillController.State;
using OpenConnect.Hosting.Database;
using OpenConnect.Testing;
using OpenConnect.Testing.Postgres;

namespace OpenConnect.FillController.Tests.State;

/// <summary>
/// The fill controller's state for one test on either engine: SQLite files in a fresh directory, or a
/// fresh PostgreSQL database on the test cluster. <see cref="Open"/> gives a new <see cref="StateDatabase"/>
/// on the same state each time (a reopen); everything opened is closed on dispose.
/// </summary>
public sealed class TestState : IAsyncDisposable
{
    private readonly List<StateDatabase> _opened = [];

    private TestState(DatabaseProvider provider, TempDirectory directory, TestDatabase? postgres)
    {
        Provider = provider;
        Directory = directory;
        Postgres = postgres;
    }

    public DatabaseProvider Provider { get; }

    /// <summary>The data directory (SQLite's files; unused by PostgreSQL).</summary>
    public TempDirectory Directory { get; }

    public TestDatabase? Postgres { get; }

    /// <summary>Fill-controller settings that select this state.</summary>
    public string[] Settings => Postgres is null
        ? []
        : ["--FillController:Database:Provider=PostgreSql", $"--FillController:Database:ConnectionString={Postgres.ConnectionString}"];

    public static async Task<TestState> CreateAsync(DatabaseProvider provider) =>
        new(provider, new TempDirectory("openconnect-fill-state"), provider == DatabaseProvider.PostgreSql ? await TestDatabase.CreateAsync() : null);

    public StateDatabase Open()
    {
        var database = Postgres is null ? StateDatabase.Sqlite(Directory.Path) : StateDatabase.PostgreSql(Postgres.ConnectionString);
        _opened.Add(database);
        return database;
    }

    /// <summary>The first column of the first row of <paramref name="sql"/> run on the store file <paramref name="sqliteFile"/>'s database (0 when null).</summary>
    public long Scalar(string sqliteFile, string sql)
    {
        using var session = Open().Session(sqliteFile);
        return session.Scalar(sql);
    }

    /// <summary>Runs <paramref name="sql"/> on the store file <paramref name="sqliteFile"/>'s database.</summary>
    public void Execute(string sqliteFile, string sql, params (string Name, object? Value)[] parameters)
    {
        using var session = Open().Session(sqliteFile);
        session.Execute(sql, parameters);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var database in _opened)
        {
            database.Dispose();
        }

        SqliteConnection.ClearAllPools();
        Directory.Dispose();
        if (Postgres is not null)
        {
            await Postgres.DisposeAsync();
        }
    }
}
