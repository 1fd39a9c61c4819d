using OpenConnect.Origin.Pipeline.Jobs;
using OpenConnect.Testing;
using OpenConnect.Testing.Postgres;

namespace OpenConnect.Origin.Tests.Pipeline.Jobs;

/// <summary>Worker processes (<c>Origin:Role=worker</c>) on one PostgreSQL job store and one data directory, one of them killed mid-chunk.</summary>
public sealed class WorkerChaosTests
{
    [Fact]
    public async Task ATitleEncodedByTwoWorkers_OneKilledMidChunk_IsPublishedComplete_EveryChunkOnce()
    {
        await using var database = await TestDatabase.CreateAsync();
        using var dir = new TempDirectory("openconnect-workers");
        var common = WorkerBed.Settings(database.ConnectionString, $"--Origin:DataDirectory={dir.Path}");

        // The origin coordinates only; the two workers do every encode.
        await using var origin = await OriginProcess.StartAsync([.. common, "--Origin:Pipeline:EncodeInProcess=false", "--Origin:Ingest:RequireToken=false"]);
        await using var doomed = await OriginProcess.StartAsync([.. common, "--Origin:Role=worker"]);
        await using var survivor = await OriginProcess.StartAsync([.. common, "--Origin:Role=worker"]);

        using var store = JobStore.OpenPostgreSql(database.ConnectionString, TimeProvider.System);
        var submission = await WorkerBed.SubmitAsync(store, dir.Path, "chaos-1", 1280, 720, 16);

        // Kill the doomed worker while it holds a chunk (ffmpeg running under it).
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        var victim = await WorkerBed.WaitForRunningChunkAsync(store, submission.TitleId, $"{Environment.MachineName}/{doomed.Pid}/", deadline);
        await doomed.KillAsync();

        using var client = origin.CreateClient();
        var title = await PipelineHarness.WaitForEndAsync(client, submission.TitleId, deadline - DateTime.UtcNow);
        var steps = WorkerBed.AssertOneEncodeStepPerChunk(title, 8);
        // The killed worker's chunk was claimed again once its lease ran out: its second attempt recorded it.
        Assert.True(steps[$"encode/{victim.Chunk:d5}"].GetProperty("attempts").GetInt32() >= 2, steps[$"encode/{victim.Chunk:d5}"].ToString());
        Assert.True(survivor.Running);

        // Every chunk once in every rendition: 16 s in 2 s segments, no segment missing or repeated.
        WorkerBed.AssertEverySegmentOnce(Path.Combine(dir.Path, "published", submission.TitleId), 8);
        Assert.Empty(store.ChunkJobs(submission.TitleId));
    }
}
