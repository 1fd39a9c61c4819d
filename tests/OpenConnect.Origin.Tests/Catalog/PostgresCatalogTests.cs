using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using OpenConnect.Hosting;
using OpenConnect.Origin.Catalog;
using OpenConnect.Origin.Catalog.Accounts;
using OpenConnect.Testing.Postgres;

namespace OpenConnect.Origin.Tests.Catalog;

/// <summary>PostgreSQL's search index, and the catalog schema's migrations and start-up checks on PostgreSQL.</summary>
public sealed class PostgresSearchIndexTests : SearchIndexTests
{
    protected override CatalogEngine Engine => CatalogEngine.PostgreSql;

    [Theory]
    [InlineData(1)]
    [InlineData(2)] // the search columns in titles, before they moved to tables of their own
    public async Task ACatalogAtAnOlderVersion_MigratesInPlace_AndItsRowsStaySearchableAndEditable(int version)
    {
        await using var database = await TestDatabase.CreateAsync();
        await using (var connection = new NpgsqlConnection(database.ConnectionString))
        {
            await connection.OpenAsync();
            PostgresCatalogSchema.Migrate(connection, 1);
            await using var insert = new NpgsqlCommand(
                """
                INSERT INTO users (id, name, password_hash, role, created_at) VALUES ('u1', 'Chef', 'x', 'uploader', 500);
                INSERT INTO titles (seq, id, title, description, tags, status, renditions, created_at, published_at, updated_at, fold_title, fold_all)
                VALUES (1, 'old-crepes', 'Crêpes Suzette', 'Flambées à l''orange', '["dessert"]', 'published', '[]', 1000, 1000, 1000,
                        'crepes suzette', 'crepes suzette' || E'\n' || 'dessert' || E'\n' || 'flambees a l''orange'),
                       (2, 'old-draft', 'Crêpes draft', '', '[]', 'processing', '[]', 2000, NULL, 2000, 'crepes draft', 'crepes draft' || E'\n\n');
                SELECT setval(pg_get_serial_sequence('titles', 'seq'), 2);
                INSERT INTO title_tags (seq, tag) VALUES (1, 'dessert');
                INSERT INTO vocab (word) VALUES ('crepes'), ('suzette'), ('dessert'), ('flambees'), ('orange');
                """, connection);
            await insert.ExecuteNonQueryAsync();

            // Version 2 indexed the rows of version 1 as it migrated them.
            PostgresCatalogSchema.Migrate(connection, version);
        }

        await using var origin = await CatalogOrigin.StartAsync(CatalogOrigin.PostgresSettings(database.ConnectionString));
        await using (var connection = new NpgsqlConnection(database.ConnectionString))
        {
            await connection.OpenAsync();
            await using var migrations = new NpgsqlCommand("SELECT max(version), count(*) FROM schema_migrations", connection);
            await using var reader = await migrations.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal(PostgresCatalogSchema.LatestVersion, reader.GetInt64(0));
            Assert.Equal(PostgresCatalogSchema.LatestVersion, reader.GetInt64(1));
        }

        // The users of version 1 are kept.
        Assert.Equal("Chef", origin.Role.Services.GetRequiredService<AccountStore>().Get("u1")?.Name);
        Assert.Empty(await IdsAsync(origin, "q=draft")); // unpublished: not in the search tables
        await AssertTheMigratedTitleIsSearchableAndEditableAsync(origin);
    }

    [Fact]
    public async Task TwoOriginsStartingTogetherOnAnEmptyDatabase_ApplyEachMigrationOnce_AndShareTheCatalog()
    {
        await using var database = await TestDatabase.CreateAsync();
        var settings = CatalogOrigin.PostgresSettings(database.ConnectionString);
        // Both provision the built-in admin, too: one creates it, the other finds it.
        var starts = await Task.WhenAll(CatalogOrigin.StartAsync(settings), CatalogOrigin.StartAsync(settings));
        await using var first = starts[0];
        await using var second = starts[1];
        await using (var connection = new NpgsqlConnection(database.ConnectionString))
        {
            await connection.OpenAsync();
            await using var versions = new NpgsqlCommand("SELECT array_agg(version ORDER BY version) FROM schema_migrations", connection);
            Assert.Equal(Enumerable.Range(1, PostgresCatalogSchema.LatestVersion).Select(v => (long)v), (long[])(await versions.ExecuteScalarAsync())!);
        }

        await first.PublishAsync("shared", "Lighthouse keepers", "Life on the rock", ["sea"]);
        Assert.Equal(["shared"], await IdsAsync(second, "q=lighthouse"));
        Assert.NotEqual(await first.AdminTokenAsync(), await second.AdminTokenAsync());

        // One name registered on both at once makes one account; the other answers 409.
        var registrations = await Task.WhenAll(first.Client.PostAsJsonAsync("/api/v1/auth/register", new { name = "twin", password = "correct horse battery" }),
            second.Client.PostAsJsonAsync("/api/v1/auth/register", new { name = "TWIN", password = "correct horse battery" }));
        Assert.Equal([HttpStatusCode.Created, HttpStatusCode.Conflict], registrations.Select(r => r.StatusCode).Order());
    }

    [Fact]
    public async Task AnUnreachableServer_FailsTheStart_NamingHostAndPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => CatalogOrigin.StartAsync(
            CatalogOrigin.PostgresSettings($"Host=127.0.0.1;Port={port};Database=catalog;Username=origin;Password=secret-word;Timeout=5")));
        var message = RoleHost.DescribeStartupFailure(error);
        Assert.Contains($"127.0.0.1:{port}", message, StringComparison.Ordinal);
        Assert.Contains("Origin:Catalog:Database", message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-word", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--Origin:Catalog:Database:Provider=PostgreSql", "Origin:Catalog:Database:ConnectionString")]
    [InlineData("--Origin:Catalog:Database:ConnectionString=Host=db;Password=secret-word", "is only used with Catalog:Database:Provider=PostgreSql")]
    [InlineData("--Origin:Catalog:Database:Provider=PostgreSql --Origin:Catalog:Database:ConnectionStringFile=/nonexistent/catalog-connection", "Origin:Catalog:Database:ConnectionStringFile")]
    [InlineData("--Origin:Catalog:Database:Provider=PostgreSql --Origin:Catalog:Database:ConnectionString=Port=5432;Password=secret-word", "is not a valid Npgsql connection string: Host is missing")]
    [InlineData("--Origin:Catalog:Database:Provider=PostgreSql --Origin:Catalog:Database:ConnectionString=Hots=db;Password=secret-word", "not a valid Npgsql connection string")]
    public async Task InvalidDatabaseSettings_FailTheStart_WithoutShowingTheConnectionString(string settings, string expected)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => CatalogOrigin.StartAsync(settings.Split(' ')));
        var message = RoleHost.DescribeStartupFailure(error);
        Assert.Contains(expected, message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-word", message, StringComparison.Ordinal);
    }
}
