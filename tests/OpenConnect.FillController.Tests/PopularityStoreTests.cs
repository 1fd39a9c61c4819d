using OpenConnect.FillController.History;
using OpenConnect.FillController.Tests.State;
using OpenConnect.Hosting.Database;

namespace OpenConnect.FillController.Tests;

/// <summary>Play history on SQLite, in <c>popularity.db</c> in WAL mode.</summary>
public sealed class SqlitePopularityStoreTests() : PopularityStoreTests(DatabaseProvider.Sqlite)
{
    [Fact]
    public void TheDatabaseIsAWalFileInTheDataDirectory()
    {
        _ = Open();
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={State.Directory.Combine(PopularityStore.SqliteFile)};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", (string)command.ExecuteScalar()!);
    }
}

/// <summary>Play history on PostgreSQL.</summary>
public sealed class PostgreSqlPopularityStoreTests() : PopularityStoreTests(DatabaseProvider.PostgreSql);

/// <summary>The play-history store's contract, run on each engine.</summary>
public abstract class PopularityStoreTests(DatabaseProvider provider) : IAsyncLifetime
{
    private static readonly DateOnly Day = new(2026, 11, 24);

    protected TestState State { get; private set; } = null!;

    public async Task InitializeAsync() => State = await TestState.CreateAsync(provider);

    public async Task DisposeAsync() => await State.DisposeAsync();

    protected PopularityStore Open() => new(State.Open());

    [Fact]
    public void CollectingTheSameCountsAgain_DoesNotDoubleCount_AndRestartedSteeringIsAdded()
    {
        var store = Open();
        PlayCount[] first = [new("isp1", "t1", Day, 5), new("isp1", "t2", Day, 1)];
        store.UpsertPlays("steering-a", first);
        store.UpsertPlays("steering-a", first);
        store.UpsertPlays("steering-a", [new("isp1", "t1", Day, 7)]);
        // Steering restarted: its new instance counts from zero.
        store.UpsertPlays("steering-b", [new("isp1", "t1", Day, 2)]);

        var plays = store.Plays(Day, Day).ToDictionary(p => p.Title, p => p.Plays);
        Assert.Equal(9, plays["t1"]);
        Assert.Equal(1, plays["t2"]);
    }

    [Fact]
    public void History_SurvivesAReopen_WithTheSchemaVersionRecorded()
    {
        var store = Open();
        store.UpsertPlays("s", [new("isp1", "t1", Day, 3)]);
        store.SaveRenditionBytes("t1", new Dictionary<string, long> { ["720p"] = 1000, ["audio"] = 10 }, DateTimeOffset.UnixEpoch);

        var reopened = Open();
        Assert.Equal(2, reopened.SchemaVersion);
        Assert.Equal(3, Assert.Single(reopened.Plays(Day, Day)).Plays);
        Assert.Equal(1000, reopened.RenditionBytes("t1", DateTimeOffset.UnixEpoch)!["720p"]);
        Assert.Null(reopened.RenditionBytes("t1", DateTimeOffset.UnixEpoch.AddSeconds(1)));
        Assert.Null(reopened.RenditionBytes("t2", DateTimeOffset.UnixEpoch));
    }

    [Fact]
    public void DailyViews_AreTheCounterGrowthBetweenDays_AndRepeatedSnapshotsKeepTheLatest()
    {
        var store = Open();
        var published = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        store.UpsertViews(Day.AddDays(-3), [new("t1", 100, published)]);
        store.UpsertViews(Day.AddDays(-2), [new("t1", 130, published)]);
        store.UpsertViews(Day.AddDays(-1), [new("t1", 150, published)]);
        store.UpsertViews(Day.AddDays(-1), [new("t1", 170, published)]);
        store.UpsertViews(Day.AddDays(-1), [new("t1", 170, published)]);

        var views = store.DailyViews(Day.AddDays(-10), Day).ToDictionary(v => v.Day, v => v.Views);
        Assert.Equal(2, views.Count);
        Assert.Equal(30, views[Day.AddDays(-2)]);
        Assert.Equal(40, views[Day.AddDays(-1)]);
        Assert.Equal(published, store.Titles()["t1"]);

        // Pruning keeps the last snapshot before the cut as the baseline of the next day.
        store.Prune(Day.AddDays(-1));
        Assert.Equal(40, Assert.Single(store.DailyViews(Day.AddDays(-10), Day)).Views);
    }

    [Fact]
    public void ANewerSchema_IsRefusedWithAClearError()
    {
        _ = Open();
        var table = provider == DatabaseProvider.Sqlite ? "schema_migrations" : "popularity_schema_migrations";
        State.Execute(PopularityStore.SqliteFile, $"INSERT INTO {table}(version, applied_at) VALUES (99, 'x');");

        var error = Assert.Throws<InvalidOperationException>(() => Open());
        Assert.Contains("schema version 99", error.Message, StringComparison.Ordinal);
    }
}
