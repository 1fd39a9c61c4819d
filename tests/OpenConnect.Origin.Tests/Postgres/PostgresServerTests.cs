using Npgsql;
using OpenConnect.Testing.Postgres;

namespace OpenConnect.Origin.Tests.Postgres;

/// <summary>The test PostgreSQL the stores' tests run on: a real server, a database per test, a crash it recovers from.</summary>
public sealed class PostgresServerTests
{
    [Fact]
    public async Task ACommittedRow_SurvivesAKilledServer_AndTheSameAddressAnswersAfterTheRestart()
    {
        await using var server = await PostgresServer.StartAsync();
        await using var database = await TestDatabase.CreateOnAsync(server.ConnectionString);
        await ExecuteAsync(database.ConnectionString, "CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL); INSERT INTO t VALUES (1, 'kept')");

        await server.KillAsync();
        NpgsqlConnection.ClearAllPools();
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => ExecuteAsync(database.ConnectionString, "SELECT 1"));

        await server.RestartAsync();
        Assert.Equal("kept", await ScalarAsync(database.ConnectionString, "SELECT v FROM t WHERE id = 1"));
    }

    [Fact]
    public async Task EachTestDatabase_IsEmptyAndItsOwn_AndIsDroppedOnDispose()
    {
        var first = await TestDatabase.CreateAsync();
        await using var second = await TestDatabase.CreateAsync();
        Assert.NotEqual(first.Name, second.Name);
        await ExecuteAsync(first.ConnectionString, "CREATE TABLE only_here (id int)");
        Assert.Equal(0L, await ScalarAsync(second.ConnectionString, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_here'"));

        await first.DisposeAsync();
        Assert.Equal(0L, await ScalarAsync(second.ServerConnectionString, $"SELECT count(*) FROM pg_database WHERE datname = '{first.Name}'"));
    }

    [Fact]
    public async Task TheServerRefusesAWrongPassword()
    {
        await using var database = await TestDatabase.CreateAsync();
        var wrong = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Password = "not-the-password" }.ConnectionString;
        var error = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(wrong, "SELECT 1"));
        Assert.Equal(PostgresErrorCodes.InvalidPassword, error.SqlState);
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
