using OpenConnect.FillController.Fill;
using OpenConnect.FillController.Placement;
using OpenConnect.FillController.Tests.State;
using OpenConnect.Hosting.Database;

namespace OpenConnect.FillController.Tests.Fill;

/// <summary>The fill store on SQLite.</summary>
public sealed class SqliteFillStoreTests() : FillStoreTests(DatabaseProvider.Sqlite);

/// <summary>The fill store on PostgreSQL.</summary>
public sealed class PostgreSqlFillStoreTests() : FillStoreTests(DatabaseProvider.PostgreSql);

/// <summary>
/// The fill store's contract, run on each engine: it stays bounded (superseded manifests and old runs
/// go), what is read stays right, and a reopened store reads what the first wrote.
/// </summary>
public abstract class FillStoreTests(DatabaseProvider provider) : IAsyncLifetime
{
    private static readonly DateOnly Day = new(2026, 11, 24);
    private TestState _state = null!;
    private FillStore _store = null!;

    public async Task InitializeAsync()
    {
        _state = await TestState.CreateAsync(provider);
        _store = new FillStore(_state.Open());
    }

    public async Task DisposeAsync() => await _state.DisposeAsync();

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

    [Fact]
    public void AReopenedStore_KnowsRunsPlacementsManifestsHeldCopiesAndProgress()
    {
        FileId a = new("t1", "r0"), b = new("t2", "r1");
        var opened = new DateTimeOffset(2026, 11, 24, 2, 0, 0, TimeSpan.Zero);
        _store.AddRun(new FillRun("isp1", Day, opened, opened.AddHours(4), Scheduled: true));
        _store.SavePlacement(new SitePlacement("isp1", Day, new Dictionary<string, IReadOnlyList<FileId>> { ["oca-1"] = [a, b] }));
        var heldUntil = opened.AddHours(1);
        var version = _store.AddManifest("oca-1", "isp1", Day, [new ManifestEntry(a, 1000), new ManifestEntry(b, 2000, heldUntil)], v => [9, (byte)v]);
        _store.RecordProgress(version, [(a, FillStore.Done, "", 600)]);
        _store.RecordProgress(version, [(a, FillStore.Done, "", 400)]);

        var reopened = new FillStore(_state.Open());
        Assert.Equal(FillStore.Migrations.Count, reopened.SchemaVersion);
        Assert.Equal(new FillRun("isp1", Day, opened, opened.AddHours(4), true), reopened.LatestRun("isp1", opened.AddHours(1)));
        Assert.Null(reopened.LatestRun("isp1", opened.AddSeconds(-1)));
        var placement = reopened.LoadPlacement("isp1")!;
        Assert.Equal(Day, placement.Day);
        Assert.Equal([a, b], placement.ByAppliance["oca-1"]);
        Assert.Null(reopened.LoadPlacement("isp2"));
        Assert.Equal([9, (byte)version], reopened.LatestManifest("oca-1")!.Zstd);
        Assert.Equal([new PlannedFile("oca-1", a, FillStore.Done, ""), new PlannedFile("oca-1", b, 0, "", Held: true)], reopened.CurrentFiles(site: null));
        Assert.Equal([new HeldCopy("oca-1", "isp1", version, b, 2000, heldUntil)], reopened.HeldCopies("isp1"));
        Assert.Equal(1000, _state.Scalar(FillStore.SqliteFile, $"SELECT bytes FROM progress WHERE version = {version}"));

        // Releasing the held copy reissues the manifest; the progress reported carries over.
        var released = reopened.Release("oca-1", version, new HashSet<FileId> { b }, v => [9, (byte)v])!.Value;
        Assert.Null(reopened.Release("oca-1", version, new HashSet<FileId> { b }, v => [9, (byte)v]));
        Assert.Empty(reopened.HeldCopies(site: null));
        Assert.Equal([new PlannedFile("oca-1", a, FillStore.Done, ""), new PlannedFile("oca-1", b, 0, "")], new FillStore(_state.Open()).CurrentFiles("isp1"));
        Assert.Equal(released, _store.LatestManifest("oca-1")!.Version);
    }

    private ulong Add(string appliance, params FileId[] files) => _store.AddManifest(appliance, "isp1", Day, files, version => [1, 2, (byte)version]);

    private long Count(string from) => _state.Scalar(FillStore.SqliteFile, $"SELECT COUNT(*) FROM {from}");
}
