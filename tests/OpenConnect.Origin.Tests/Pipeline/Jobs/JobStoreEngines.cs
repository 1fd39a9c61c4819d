using OpenConnect.Origin.Pipeline.Jobs;
using OpenConnect.Testing;
using OpenConnect.Testing.Postgres;

namespace OpenConnect.Origin.Tests.Pipeline.Jobs;

/// <summary>An empty database of one engine for one test; <see cref="Open"/> gives store instances on it, as separate processes would have.</summary>
public abstract class JobStoreEngine : IAsyncDisposable
{
    private readonly List<JobStore> _stores = [];

    /// <summary>A store instance on the test's database, disposed with the engine.</summary>
    public JobStore Open(TimeProvider time)
    {
        var store = OpenStore(time);
        _stores.Add(store);
        return store;
    }

    protected abstract JobStore OpenStore(TimeProvider time);

    public virtual ValueTask DisposeAsync()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }

        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}

/// <summary>SQLite: <c>pipeline.db</c> in a temporary directory.</summary>
public sealed class SqliteEngine : JobStoreEngine
{
    private readonly TempDirectory _directory = new("openconnect-jobstore");

    public string DatabasePath => _directory.Combine("pipeline.db");

    protected override JobStore OpenStore(TimeProvider time) => JobStore.OpenSqlite(DatabasePath, time);

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }
}

/// <summary>PostgreSQL: a fresh database on the run's test cluster (<see cref="TestDatabase"/>).</summary>
public sealed class PostgresEngine : JobStoreEngine
{
    private readonly TestDatabase _database;

    private PostgresEngine(TestDatabase database) => _database = database;

    public string ConnectionString => _database.ConnectionString;

    public static async Task<PostgresEngine> CreateAsync() => new(await TestDatabase.CreateAsync());

    protected override JobStore OpenStore(TimeProvider time) => JobStore.OpenPostgreSql(ConnectionString, time);

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await _database.DisposeAsync();
    }
}
