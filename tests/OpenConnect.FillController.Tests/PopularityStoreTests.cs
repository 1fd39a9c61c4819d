using OpenConnect.FillController.History;
using OpenConnect.Testing;

namespace OpenConnect.FillController.Tests;

public sealed class PopularityStoreTests : IDisposable
{
    private static readonly DateOnly Day = new(2026, 11, 24);
    private readonly TempDirectory _dir = new("openconnect-popularity");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void CollectingTheSameCountsAgain_DoesNotDoubleCount_AndRestartedSteeringIsAdded()
    {
        var store = new PopularityStore(_dir.Path);
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
        var store = new PopularityStore(_dir.Path);
        store.UpsertPlays("s", [new("isp1", "t1", Day, 3)]);
        store.SaveRenditionBytes("t1", new Dictionary<string, long> { ["720p"] = 1000, ["audio"] = 10 }, DateTimeOffset.UnixEpoch);

        var reopened = new PopularityStore(_dir.Path);
        Assert.Equal(2, reopened.SchemaVersion);
        Assert.Equal(3, Assert.Single(reopened.Plays(Day, Day)).Plays);
        Assert.Equal(1000, reopened.RenditionBytes("t1", DateTimeOffset.UnixEpoch)!["720p"]);
        Assert.Null(reopened.RenditionBytes("t1", DateTimeOffset.UnixEpoch.AddSeconds(1)));
        Assert.Null(reopened.RenditionBytes("t2", DateTimeOffset.UnixEpoch));
        Assert.Equal("wal", JournalMode(reopened.FilePath));
    }

    [Fact]
    public void DailyViews_AreTheCounterGrowthBetweenDays_AndRepeatedSnapshotsKeepTheLatest()
    {
        var store = new PopularityStore(_dir.Path);
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
        _ = new PopularityStore(_dir.Path);
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_dir.Path, "popularity.db")};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO schema_migrations(version, applied_at) VALUES (99, 'x');";
            command.ExecuteNonQuery();
        }

        var error = Assert.Throws<InvalidOperationException>(() => new PopularityStore(_dir.Path));
        Assert.Contains("schema version 99", error.Message, StringComparison.Ordinal);
    }

    private static string JournalMode(string path)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";
        return (string)command.ExecuteScalar()!;
    }
}
