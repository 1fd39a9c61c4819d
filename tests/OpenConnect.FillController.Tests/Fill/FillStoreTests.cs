using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using OpenConnect.FillController.Fill;
using OpenConnect.FillController.Placement;
using OpenConnect.Testing;

namespace OpenConnect.FillController.Tests.Fill;

/// <summary>The fill store stays bounded: superseded manifests and old runs go, and what is read stays right.</summary>
public sealed class FillStoreTests : IDisposable
{
    private static readonly DateOnly Day = new(2026, 11, 24);
    private readonly TempDirectory _dir = new("openconnect-fillstore");
    private readonly FillStore _store;

    public FillStoreTests() => _store = new FillStore(Options.Create(new FillControllerOptions { DataDirectory = _dir.Path }));

    [Fact]
    public void ANewManifest_DeletesTheAppliancesSupersededOnes_WithTheirFilesAndProgress_AndVersionsAreNeverReused()
    {
        FileId a = new("t1", "r0"), b = new("t2", "r0"), c = new("t3", "r0");
        var v1 = Add("oca-1", a, b);
        var v2 = Add("oca-2", a);
        _store.RecordProgress(v1, [(a, FillStore.Done, "", 10), (b, FillStore.Failed, "gone", 0)]);
        _store.RecordProgress(v2, [(a, FillStore.Done, "", 10)]);

        var v3 = Add("oca-1", c);
        Assert.Equal((1UL, 2UL, 3UL), (v1, v2, v3));
        Assert.Equal(2, Count("manifests"));
        Assert.Equal(0, Count($"manifest_files WHERE version = {v1}"));
        Assert.Equal(0, Count($"progress WHERE version = {v1}"));
        Assert.Equal(1, Count($"progress WHERE version = {v2}"));

        var current = _store.CurrentFiles(site: "isp1");
        Assert.Equal([("oca-2", a, FillStore.Done), ("oca-1", c, 0)], current.Select(f => (f.ApplianceId, f.File, f.State)).OrderBy(f => f.File.Title).ToArray());

        // oca-2's manifest (2) is not the newest overall, oca-1's (3) is: the next version is 4, not a reused 3.
        Assert.Equal(4UL, Add("oca-2", b));
        Assert.Equal(5UL, Add("oca-1", a));
    }

    [Fact]
    public void TheLatestManifest_CarriesItsBytesOnlyWhenTheCallerHoldsAnotherVersion()
    {
        var version = Add("oca-1", new FileId("t1", "r0"));

        Assert.Equal([1, 2, (byte)version], _store.LatestManifest("oca-1")!.Zstd);
        Assert.Equal([1, 2, (byte)version], _store.LatestManifest("oca-1", haveVersion: version + 7)!.Zstd);
        var same = _store.LatestManifest("oca-1", haveVersion: version)!;
        Assert.Equal(version, same.Version);
        Assert.Equal("isp1", same.Site);
        Assert.Empty(same.Zstd);
        Assert.Null(_store.LatestManifest("oca-9"));
    }

    [Fact]
    public void RunsOlderThanTheRetention_AreDeletedAsNewOnesAreAdded_PerSite()
    {
        var start = new DateTimeOffset(2026, 10, 1, 2, 0, 0, TimeSpan.Zero);
        _store.AddRun(new FillRun("isp1", DateOnly.FromDateTime(start.UtcDateTime), start, start.AddHours(4), Scheduled: true));
        _store.AddRun(new FillRun("isp2", DateOnly.FromDateTime(start.UtcDateTime), start, start.AddHours(4), Scheduled: true));
        var later = start + FillStore.RunRetention + TimeSpan.FromDays(1);
        _store.AddRun(new FillRun("isp1", DateOnly.FromDateTime(later.UtcDateTime), later, later.AddHours(4), Scheduled: true));

        Assert.False(_store.HasScheduledRun("isp1", DateOnly.FromDateTime(start.UtcDateTime)));
        Assert.True(_store.HasScheduledRun("isp1", DateOnly.FromDateTime(later.UtcDateTime)));
        Assert.True(_store.HasScheduledRun("isp2", DateOnly.FromDateTime(start.UtcDateTime)));
        Assert.Equal(later, _store.LatestRun("isp1", later)!.OpenedAt);
        Assert.Equal(2, Count("runs"));
    }

    public void Dispose()
    {
        _store.Dispose();
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private ulong Add(string appliance, params FileId[] files) => _store.AddManifest(appliance, "isp1", Day, files, version => [1, 2, (byte)version]);

    private long Count(string from)
    {
        using var db = new SqliteConnection($"Data Source={_dir.Combine("fill.db")};Mode=ReadOnly;Pooling=False");
        db.Open();
        using var command = db.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM {from}";
        return (long)command.ExecuteScalar()!;
    }
}
