using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using OpenConnect.Hosting.Database;
using OpenConnect.Origin.Catalog;
using OpenConnect.Origin.Publishing;
using OpenConnect.Testing;
using OpenConnect.Testing.Postgres;

namespace OpenConnect.Origin.Tests.Publishing;

/// <summary>The takedown list kept in the PostgreSQL catalog: one list for every instance, and the upgrade from an instance's file.</summary>
public sealed class SharedTakedownStoreTests
{
    private static readonly FakeTimeProvider Time = new(DateTimeOffset.Parse("2026-12-07T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public async Task TwoInstances_ShareOneList_WithTheFilesRules_AndAReloadReportsTheOthersChanges()
    {
        await using var database = await TestDatabase.CreateAsync();
        using var dirA = new TempDirectory("oc-takedowns-a");
        using var dirB = new TempDirectory("oc-takedowns-b");
        using var catalogA = Catalog(database);
        using var catalogB = Catalog(database);
        var a = new TitleTakedowns(catalogA, dirA.Path, Time);
        var b = new TitleTakedowns(catalogB, dirB.Path, Time);
        Assert.True(a.IsShared);
        var changedOnB = new List<string>();
        b.Changed += changedOnB.Add;

        Assert.Equal(TitleTakedowns.Unpublished, a.TakeDown("t1", TitleTakedowns.Unpublished).Reason);
        Assert.False(b.IsTakenDown("t1"));
        b.Reload();
        Assert.True(b.IsTakenDown("t1", out var reason));
        Assert.Equal(TitleTakedowns.Unpublished, reason);
        Assert.Equal(["t1"], changedOnB);
        b.Reload();
        Assert.Equal(["t1"], changedOnB);

        // B deletes it; A, not reloaded yet, still finds the deleted title deleted: the rule is the table's.
        Assert.Equal(TitleTakedowns.Deleted, b.TakeDown("t1", TitleTakedowns.Deleted).Reason);
        Assert.Equal(TitleTakedowns.Deleted, a.TakeDown("t1", TitleTakedowns.Unpublished).Reason);
        Assert.Contains("cannot be republished", Assert.Throws<InvalidOperationException>(() => a.Lift("t1")).Message, StringComparison.Ordinal);

        a.TakeDown("t2", TitleTakedowns.Unpublished);
        b.Reload();
        Assert.True(b.Lift("t2"));
        Assert.False(a.Lift("t2"));
        a.Reload();
        Assert.Equal([("t1", TitleTakedowns.Deleted)], a.List().Select(e => (e.TitleId, e.Reason)));
        Assert.Equal(a.List(), b.List());
        Assert.False(File.Exists(Path.Combine(dirA.Path, TitleTakedowns.FileName)));
    }

    [Fact]
    public async Task ACatalogAtThePreviousVersion_MigratesWithItsRows_AndAnInstancesFileIsImportedOnce()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using (var connection = new NpgsqlConnection(database.ConnectionString))
        {
            await connection.OpenAsync();
            PostgresCatalogSchema.Migrate(connection, PostgresCatalogSchema.LatestVersion - 1);
            await using var insert = new NpgsqlCommand("INSERT INTO users (id, name, password_hash, role, created_at) VALUES ('u1', 'Chef', 'x', 'uploader', 500);", connection);
            await insert.ExecuteNonQueryAsync();
        }

        using var dir = new TempDirectory("oc-takedowns-upgrade");
        var file = Path.Combine(dir.Path, TitleTakedowns.FileName);
        new TitleTakedowns(dir.Path, Time).TakeDown("old", TitleTakedowns.Deleted);
        Assert.True(File.Exists(file));

        using var catalog = Catalog(database);
        var shared = new TitleTakedowns(catalog, dir.Path, Time);
        Assert.True(shared.IsTakenDown("old", out var reason));
        Assert.Equal(TitleTakedowns.Deleted, reason);
        Assert.False(File.Exists(file));
        Assert.True(File.Exists(file + ".imported"));
        await using (var connection = new NpgsqlConnection(database.ConnectionString))
        {
            await connection.OpenAsync();
            await using var users = new NpgsqlCommand("SELECT name FROM users WHERE id = 'u1'", connection);
            Assert.Equal("Chef", await users.ExecuteScalarAsync());
            await using var version = new NpgsqlCommand("SELECT max(version) FROM schema_migrations", connection);
            Assert.Equal((long)PostgresCatalogSchema.LatestVersion, await version.ExecuteScalarAsync());
        }
    }

    private static CatalogDatabase Catalog(TestDatabase database) =>
        new(Options.Create(new OriginOptions
        {
            Catalog = new CatalogOptions { Database = new DatabaseOptions { Provider = DatabaseProvider.PostgreSql, ConnectionString = database.ConnectionString } },
        }));
}
