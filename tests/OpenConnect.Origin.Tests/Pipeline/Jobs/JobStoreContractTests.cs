using Microsoft.Extensions.Time.Testing;
using OpenConnect.Origin.Pipeline;
using OpenConnect.Origin.Pipeline.Jobs;

namespace OpenConnect.Origin.Tests.Pipeline.Jobs;

/// <summary>What the pipeline relies on from its job store, on every engine (the subclasses at the end pick one).</summary>
public abstract partial class JobStoreContractTests : IAsyncLifetime
{
    private static readonly SourceInfo Source = new("matroska,webm", 61.5, 1920, 1080, "h264", 25, "aac");

    private JobStoreEngine _engine = null!;

    protected FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));

    protected JobStore Store { get; private set; } = null!;

    protected JobStoreEngine Engine => _engine;

    protected abstract Task<JobStoreEngine> CreateEngineAsync();

    public async Task InitializeAsync()
    {
        _engine = await CreateEngineAsync();
        Store = _engine.Open(Clock);
    }

    public async Task DisposeAsync() => await _engine.DisposeAsync();

    [Fact]
    public void ATitle_RoundTrips_WithItsMetadataSourceRenditionsAndState()
    {
        var changed = new List<string>();
        Store.Changed += changed.Add;
        Store.Insert("aaaaaaaaaaa", "u-1", TitleStates.Queued, null, new Dictionary<string, string> { ["title"] = "One", ["uploader_id"] = "ann" }, "/uploads/u-1", "/work/a/source.mkv", Source);
        Clock.Advance(TimeSpan.FromSeconds(3));
        Store.SetProgress("aaaaaaaaaaa", "encode", 41.26);
        Store.SetRenditions("aaaaaaaaaaa", [new RenditionInfo("720p", "h264", 1280, 720, 2800, "avc1.64001f", 4_000_000, 2_900_000, 16)]);
        Store.SetNextAttempt("aaaaaaaaaaa", Clock.GetUtcNow() + TimeSpan.FromSeconds(8));

        var title = Store.Get("aaaaaaaaaaa")!;
        Assert.Equal("u-1", title.UploadId);
        Assert.Equal(TitleStates.Queued, title.State);
        Assert.Equal("encode", title.Step);
        Assert.Equal(41.3, title.Percent);
        Assert.Equal("One", title.Metadata["title"]);
        Assert.Equal(Source, title.Source);
        Assert.Equal("/work/a/source.mkv", title.SourceFile);
        Assert.Equal("720p", Assert.Single(title.Renditions).Name);
        Assert.Equal(Clock.GetUtcNow() - TimeSpan.FromSeconds(3), title.CreatedAt);
        Assert.Equal(Clock.GetUtcNow(), title.UpdatedAt);
        Assert.Equal(Clock.GetUtcNow() + TimeSpan.FromSeconds(8), title.NextAttemptAt);
        Assert.Equal("/uploads/u-1", Store.UploadPath("aaaaaaaaaaa"));
        Assert.Equal("aaaaaaaaaaa", Store.GetByUpload("u-1")!.Id);
        Assert.Null(Store.Get("nope"));
        Assert.Null(Store.GetByUpload("nope"));

        Store.SetState("aaaaaaaaaaa", TitleStates.Published, published: true);
        title = Store.Get("aaaaaaaaaaa")!;
        Assert.Equal(TitleStates.Published, title.State);
        Assert.Equal(100, title.Percent);
        Assert.Null(title.Step);
        Assert.Null(title.NextAttemptAt);
        Assert.Equal(Clock.GetUtcNow(), title.PublishedAt);
        Assert.All(changed, id => Assert.Equal("aaaaaaaaaaa", id));
        Assert.Equal(5, changed.Count);
    }

    [Fact]
    public void AnUploadIsRecordedOnce()
    {
        Store.Insert("aaaaaaaaaaa", "u-1", TitleStates.Queued, null, new Dictionary<string, string>(), "/x", null, null);
        Assert.ThrowsAny<System.Data.Common.DbException>(() => Store.Insert("bbbbbbbbbbb", "u-1", TitleStates.Queued, null, new Dictionary<string, string>(), "/x", null, null));
    }

    [Fact]
    public void Lists_AreNewestFirst_ByUploader_WithOrWithoutAnonymousTitles()
    {
        Insert("aaaaaaaaaaa", "ann", TitleStates.Rejected);
        Insert("bbbbbbbbbbb", "bob", TitleStates.Queued);
        Insert("ccccccccccc", null, TitleStates.Published);

        Assert.Equal(["ccccccccccc", "bbbbbbbbbbb", "aaaaaaaaaaa"], Store.List(10).Select(t => t.Id));
        Assert.Equal(["ccccccccccc", "bbbbbbbbbbb"], Store.List(2).Select(t => t.Id));
        Assert.Equal(["aaaaaaaaaaa"], Store.ListByUploader("ann", withAnonymous: false, 10).Select(t => t.Id));
        Assert.Equal(["ccccccccccc", "aaaaaaaaaaa"], Store.ListByUploader("ann", withAnonymous: true, 10).Select(t => t.Id));
        Assert.Equal(["ccccccccccc"], Store.ListByUploader("", withAnonymous: true, 10).Select(t => t.Id));
        Assert.Empty(Store.ListByUploader("carol", withAnonymous: false, 10));
        Assert.Single(Store.ListByUploader("ann", withAnonymous: true, 1));
    }

    [Fact]
    public void TitlesCreatedInTheSameMillisecond_KeepTheirInsertionOrder()
    {
        Store.Insert("aaaaaaaaaaa", "u-a", TitleStates.Queued, null, new Dictionary<string, string>(), "/x", null, null);
        Store.Insert("bbbbbbbbbbb", "u-b", TitleStates.Queued, null, new Dictionary<string, string>(), "/x", null, null);
        Store.Insert("0aaaaaaaaaa", "u-c", TitleStates.Processing, null, new Dictionary<string, string>(), "/x", null, null);

        Assert.Equal(["aaaaaaaaaaa", "bbbbbbbbbbb", "0aaaaaaaaaa"], Store.Unfinished().Select(t => t.Id));
        Assert.Equal(["0aaaaaaaaaa", "bbbbbbbbbbb", "aaaaaaaaaaa"], Store.List(10).Select(t => t.Id));
    }

    [Fact]
    public void Unfinished_CountByState_AndUsage_SeeTheWholeStore()
    {
        Insert("aaaaaaaaaaa", "ann", TitleStates.Published, Source);
        Insert("bbbbbbbbbbb", "ann", TitleStates.Queued, Source with { DurationSeconds = 10 });
        Insert("ccccccccccc", "ann", TitleStates.Rejected, Source with { DurationSeconds = 1000 });
        Insert("ddddddddddd", "bob", TitleStates.Processing, Source);
        Insert("eeeeeeeeeee", null, TitleStates.Queued, null);

        Assert.Equal(["bbbbbbbbbbb", "ddddddddddd", "eeeeeeeeeee"], Store.Unfinished().Select(t => t.Id));
        var counts = Store.CountByState();
        Assert.Equal(1, counts[TitleStates.Published]);
        Assert.Equal(2, counts[TitleStates.Queued]);
        Assert.Equal(1, counts[TitleStates.Processing]);
        Assert.Equal(1, counts[TitleStates.Rejected]);
        Assert.Equal(0, counts[TitleStates.Failed]);

        var all = Store.UsageWithin("ann", TimeSpan.FromHours(1));
        Assert.Equal(1, all.Backlog);
        Assert.Equal(3, all.Titles);
        Assert.Equal(TimeSpan.FromSeconds(71.5), all.SourceDuration);
        var anonymous = Store.UsageWithin("", TimeSpan.FromHours(1));
        Assert.Equal(1, anonymous.Backlog);
        Assert.Equal(TimeSpan.Zero, anonymous.SourceDuration);

        // Only the titles recorded since the window's start count; the backlog counts whatever its age.
        Clock.Advance(TimeSpan.FromHours(2));
        Store.SetSource("bbbbbbbbbbb", Source with { DurationSeconds = 20 });
        var later = Store.UsageWithin("ann", TimeSpan.FromHours(1));
        Assert.Equal(1, later.Backlog);
        Assert.Equal(0, later.Titles);
        Assert.Equal(TimeSpan.FromSeconds(81.5), Store.UsageOf("ann", Clock.GetUtcNow() - TimeSpan.FromHours(3)).SourceDuration);
    }

    [Fact]
    public void Steps_CountAttempts_RecordFailures_AndStepsDoneElsewhere()
    {
        Insert("aaaaaaaaaaa", null, TitleStates.Processing);
        Store.StepStarted("aaaaaaaaaaa", "probe");
        Clock.Advance(TimeSpan.FromSeconds(1));
        Store.StepFinished("aaaaaaaaaaa", "probe", "ffprobe failed");
        Clock.Advance(TimeSpan.FromSeconds(1));
        Store.StepStarted("aaaaaaaaaaa", "probe");
        Clock.Advance(TimeSpan.FromSeconds(1));
        Store.StepFinished("aaaaaaaaaaa", "probe", error: null);
        Store.StepDone("aaaaaaaaaaa", "encode/00001", 2, Clock.GetUtcNow(), Clock.GetUtcNow() + TimeSpan.FromSeconds(5));

        var steps = Store.Steps("aaaaaaaaaaa");
        Assert.Equal(["probe", "encode/00001"], steps.Select(s => s.Name));
        var probe = steps[0];
        Assert.Equal("done", probe.State);
        Assert.Equal(2, probe.Attempts);
        Assert.Null(probe.Error);
        Assert.Equal(Clock.GetUtcNow() - TimeSpan.FromSeconds(1), probe.StartedAt);
        Assert.Equal(Clock.GetUtcNow(), probe.FinishedAt);
        Assert.Equal(("done", 2), (steps[1].State, steps[1].Attempts));
        Assert.Empty(Store.Steps("nope"));
    }

    [Fact]
    public void TwoStoreInstancesOnOneDatabase_SeeEachOthersWrites_AndOpeningAgainMigratesNothing()
    {
        var other = Engine.Open(Clock);
        Insert("aaaaaaaaaaa", "ann", TitleStates.Queued);
        Assert.Equal(TitleStates.Queued, other.Get("aaaaaaaaaaa")!.State);
        other.SetState("aaaaaaaaaaa", TitleStates.Failed, "gave up");
        Assert.Equal("gave up", Store.Get("aaaaaaaaaaa")!.Reason);
    }

    private void Insert(string id, string? uploader, string state, SourceInfo? source = null)
    {
        var metadata = new Dictionary<string, string> { ["title"] = id };
        if (uploader is not null)
        {
            metadata["uploader_id"] = uploader;
        }

        Store.Insert(id, "upload-" + id, state, state == TitleStates.Rejected ? "not a video" : null, metadata, "/uploads/" + id, null, source);
        Clock.Advance(TimeSpan.FromMilliseconds(10));
    }
}

public sealed class SqliteJobStoreTests : JobStoreContractTests
{
    protected override Task<JobStoreEngine> CreateEngineAsync() => Task.FromResult<JobStoreEngine>(new SqliteEngine());
}

public sealed class PostgresJobStoreTests : JobStoreContractTests
{
    protected override async Task<JobStoreEngine> CreateEngineAsync() => await PostgresEngine.CreateAsync();
}
