using OpenConnect.FillController.Fill;
using OpenConnect.FillController.History;
using OpenConnect.FillController.Placement;
using OpenConnect.FillController.State;
using OpenConnect.Hosting.Database;

namespace OpenConnect.FillController.Tests.State;

/// <summary>
/// The stores' schemas are versioned: a database of the previous version with rows in it migrates and
/// keeps them, on both engines; a <c>fill.db</c> from before versioning is adopted; controllers starting
/// together on one PostgreSQL database migrate it once.
/// </summary>
public sealed class SchemaMigrationTests
{
    private static readonly FileId File = new("t1", "r0");

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.PostgreSql)]
    public async Task ADatabaseAtThePreviousVersion_WithRows_MigratesAndKeepsThem(DatabaseProvider provider)
    {
        await using var state = await TestState.CreateAsync(provider);
        var previous = state.Open();
        Assert.Equal(FillStore.Migrations.Count - 1, FillStore.Migrate(previous, upTo: FillStore.Migrations.Count - 1));
        Assert.Equal(PopularityStore.Migrations.Count - 1, PopularityStore.Migrate(previous, upTo: PopularityStore.Migrations.Count - 1));
        // Rows as the previous version wrote them: manifest files without the staged-copy columns, no rendition requests.
        state.Execute(FillStore.SqliteFile, "INSERT INTO runs VALUES ('isp1', '2026-11-24', 1000, 2000, 1)");
        state.Execute(FillStore.SqliteFile, """INSERT INTO placements VALUES ('isp1', '2026-11-24', '{"oca-1":["t1/r0"]}')""");
        state.Execute(FillStore.SqliteFile, "INSERT INTO manifests VALUES (7, 'oca-1', 'isp1', '2026-11-24', @zstd)", ("@zstd", new byte[] { 4, 2 }));
        state.Execute(FillStore.SqliteFile, "INSERT INTO manifest_files VALUES (7, 't1', 'r0')");
        state.Execute(FillStore.SqliteFile, "INSERT INTO progress VALUES (7, 't1', 'r0', 1, '', 500)");
        state.Execute(PopularityStore.SqliteFile, "INSERT INTO plays VALUES ('steering-a', 'isp1', 't1', '2026-11-24', 12)");

        var fill = new FillStore(state.Open());
        Assert.Equal(FillStore.Migrations.Count, fill.SchemaVersion);
        Assert.Equal(FillStore.Migrations.Count, state.Scalar(FillStore.SqliteFile, $"SELECT COUNT(*) FROM {FillStore.VersionTable}"));
        Assert.True(fill.HasScheduledRun("isp1", new DateOnly(2026, 11, 24)));
        Assert.Equal([File], fill.LoadPlacement("isp1")!.ByAppliance["oca-1"]);
        Assert.Equal(new byte[] { 4, 2 }, fill.LatestManifest("oca-1")!.Zstd);
        Assert.Equal([new PlannedFile("oca-1", File, FillStore.Done, "")], fill.CurrentFiles("isp1"));
        Assert.Empty(fill.HeldCopies(null));
        Assert.Equal(8UL, fill.AddManifest("oca-1", "isp1", new DateOnly(2026, 11, 25), [File], v => [(byte)v]));

        var popularity = new PopularityStore(state.Open());
        Assert.Equal(PopularityStore.Migrations.Count, popularity.SchemaVersion);
        Assert.Equal(12, Assert.Single(popularity.Plays(new DateOnly(2026, 11, 24), new DateOnly(2026, 11, 24))).Plays);
        popularity.AddRenditionRequests("isp1", new DateOnly(2026, 11, 24), [("t1", "r0", 3)]);
        popularity.AddRenditionRequests("isp1", new DateOnly(2026, 11, 24), [("t1", "r0", 4)]);
        Assert.Equal(7, Assert.Single(popularity.RenditionRequests(new DateOnly(2026, 11, 24), new DateOnly(2026, 11, 24))).Requests);
    }

    /// <remarks>
    /// Adopted at the wrong version, the migration fails: at 0 creating tables that exist, at 1 adding
    /// the staged-copy columns twice, at 2 without them the held copy cannot be stored.
    /// </remarks>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AFillDbFromBeforeVersioning_IsAdoptedAtItsVersion_AndKeepsItsRows(bool withStagedColumns)
    {
        await using var state = await TestState.CreateAsync(DatabaseProvider.Sqlite);
        // The tables as the previous release created them (no version table).
        state.Execute(FillStore.SqliteFile, """
            CREATE TABLE IF NOT EXISTS runs (site TEXT NOT NULL, day TEXT NOT NULL, opened_at INTEGER NOT NULL, open_until INTEGER NOT NULL, scheduled INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS runs_site ON runs (site, opened_at);
            CREATE TABLE IF NOT EXISTS placements (site TEXT PRIMARY KEY, day TEXT NOT NULL, by_appliance TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS manifests (version INTEGER PRIMARY KEY, appliance_id TEXT NOT NULL, site TEXT NOT NULL, day TEXT NOT NULL, zstd BLOB NOT NULL);
            CREATE INDEX IF NOT EXISTS manifests_appliance ON manifests (appliance_id, version);
            CREATE TABLE IF NOT EXISTS manifest_files (version INTEGER NOT NULL, title TEXT NOT NULL, rendition TEXT NOT NULL, PRIMARY KEY (version, title, rendition));
            CREATE TABLE IF NOT EXISTS progress (version INTEGER NOT NULL, title TEXT NOT NULL, rendition TEXT NOT NULL, state INTEGER NOT NULL, reason TEXT NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (version, title, rendition));
            INSERT INTO manifests VALUES (3, 'oca-1', 'isp1', '2026-11-24', x'01');
            INSERT INTO manifest_files (version, title, rendition) VALUES (3, 't1', 'r0');
            INSERT INTO progress VALUES (3, 't1', 'r0', 2, 'gone', 0);
            """);
        if (withStagedColumns)
        {
            state.Execute(FillStore.SqliteFile, "ALTER TABLE manifest_files ADD COLUMN held_until INTEGER NOT NULL DEFAULT 0; ALTER TABLE manifest_files ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;");
        }

        var store = new FillStore(state.Open());
        Assert.Equal(FillStore.Migrations.Count, store.SchemaVersion);
        Assert.Equal(FillStore.Migrations.Count, state.Scalar(FillStore.SqliteFile, $"SELECT COUNT(*) FROM {FillStore.VersionTable}"));
        Assert.Equal([new PlannedFile("oca-1", File, FillStore.Failed, "gone")], store.CurrentFiles("isp1"));
        Assert.Equal(4UL, store.AddManifest("oca-2", "isp1", new DateOnly(2026, 11, 24), [new ManifestEntry(File, 10, DateTimeOffset.UnixEpoch.AddDays(1))], v => [(byte)v]));
        Assert.Single(store.HeldCopies("isp1"));
    }

    [Fact]
    public async Task ControllersStartingTogether_MigrateOneDatabaseOnce_IntoTheirOwnSchema()
    {
        await using var state = await TestState.CreateAsync(DatabaseProvider.PostgreSql);
        var databases = Enumerable.Range(0, 4).Select(_ => state.Open()).ToList();
        using var start = new Barrier(databases.Count);
        await Task.WhenAll(databases.Select(database => Task.Run(() =>
        {
            start.SignalAndWait();
            Assert.Equal(FillStore.Migrations.Count, new FillStore(database).SchemaVersion);
            Assert.Equal(PopularityStore.Migrations.Count, new PopularityStore(database).SchemaVersion);
        })));

        Assert.Equal(FillStore.Migrations.Count, state.Scalar(FillStore.SqliteFile, $"SELECT COUNT(*) FROM {FillStore.VersionTable}"));
        Assert.Equal(PopularityStore.Migrations.Count, state.Scalar(FillStore.SqliteFile, "SELECT COUNT(*) FROM popularity_schema_migrations"));
        // Every table in the schema fill_controller, none in public (where another role's tables may be).
        Assert.Equal(13, state.Scalar(FillStore.SqliteFile, $"SELECT COUNT(*) FROM pg_tables WHERE schemaname = '{StateDatabase.PostgresSchema}'"));
        Assert.Equal(0, state.Scalar(FillStore.SqliteFile, "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'"));
    }
}
