using Npgsql;

namespace OpenConnect.Testing.Postgres;

/// <summary>
/// A fresh, empty database for one test on the run's shared PostgreSQL cluster, dropped on dispose.
/// The cluster is the one <c>./test.sh</c> starts and names in <see cref="EnvironmentVariable"/>; when
/// that is not set (a single project run with <c>dotnet test</c>), the first database of the process
/// starts a cluster of its own (<see cref="PostgresServer"/>), stopped when the process has ended.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    /// <summary>An Npgsql connection string of a server the tests may create and drop databases on.</summary>
    public const string EnvironmentVariable = "OPENCONNECT_TEST_POSTGRES";

    private static readonly SemaphoreSlim StartLock = new(1, 1);
    private static string? _server;

    private TestDatabase(string name, string connectionString, string serverConnectionString)
    {
        Name = name;
        ConnectionString = connectionString;
        ServerConnectionString = serverConnectionString;
    }

    /// <summary>The database's name (<c>oc_test_…</c>).</summary>
    public string Name { get; }

    /// <summary>An Npgsql connection string for this database.</summary>
    public string ConnectionString { get; }

    /// <summary>The server's maintenance connection string (the <c>postgres</c> database).</summary>
    public string ServerConnectionString { get; }

    /// <summary>Creates an empty database on the shared cluster.</summary>
    public static async Task<TestDatabase> CreateAsync()
    {
        var server = await SharedServerAsync();
        return await CreateOnAsync(server);
    }

    /// <summary>Creates an empty database on the given server (a <see cref="PostgresServer"/> of a test's own).</summary>
    public static async Task<TestDatabase> CreateOnAsync(string serverConnectionString)
    {
        var name = $"oc_test_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(serverConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
        }

        var builder = new NpgsqlConnectionStringBuilder(serverConnectionString) { Database = name };
        return new TestDatabase(name, builder.ConnectionString, serverConnectionString);
    }

    public async ValueTask DisposeAsync()
    {
        // Pooled connections of this process to the database would block the drop; FORCE ends any other's.
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(ServerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<string> SharedServerAsync()
    {
        var configured = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured;
        }

        await StartLock.WaitAsync();
        try
        {
            if (_server is null)
            {
                // Stopped and deleted by its watcher once this process has ended.
                var server = await PostgresServer.StartAsync();
                _server = server.ConnectionString;
            }

            return _server;
        }
        finally
        {
            StartLock.Release();
        }
    }
}
