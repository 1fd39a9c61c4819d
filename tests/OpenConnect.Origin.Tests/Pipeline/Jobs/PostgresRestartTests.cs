using OpenConnect.Origin.Pipeline.Jobs;
using OpenConnect.Testing;
using OpenConnect.Testing.Postgres;
using Xunit.Abstractions;

namespace OpenConnect.Origin.Tests.Pipeline.Jobs;

/// <summary>The job store's PostgreSQL killed (<c>kill -9</c>) while a worker process encodes a chunk, and started again.</summary>
public sealed class PostgresRestartTests(ITestOutputHelper output)
{
    /// <summary>Longer than the 3 s lease: the worker's claim runs out while the store is down.</summary>
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(8);

    [Fact]
    public async Task PostgresKilledMidChunk_WorkResumesOnceItIsBack_TheTitleIsPublished_EveryChunkOnce_AndNothingCrashedOrSpun()
    {
        await using var server = await PostgresServer.StartAsync();
        await using var database = await TestDatabase.CreateOnAsync(server.ConnectionString);
        using var dir = new TempDirectory("openconnect-pg-restart");
        var common = WorkerBed.Settings(database.ConnectionString, $"--Origin:DataDirectory={dir.Path}");
        await using var origin = await OriginProcess.StartAsync([.. common, "--Origin:Pipeline:EncodeInProcess=false", "--Origin:Ingest:RequireToken=false"]);
        await using var worker = await OriginProcess.StartAsync([.. common, "--Origin:Role=worker"]);

        string titleId;
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(4);
        using (var store = JobStore.OpenPostgreSql(database.ConnectionString, TimeProvider.System))
        {
            titleId = (await WorkerBed.SubmitAsync(store, dir.Path, "restart-1", 640, 360, 12)).TitleId;
            await WorkerBed.WaitForRunningChunkAsync(store, titleId, ownerPrefix: null, deadline);
        }

        await server.KillAsync();
        await Task.Delay(Outage);
        Assert.True(origin.Running, origin.Tail());
        Assert.True(worker.Running, worker.Tail());
        await server.RestartAsync();

        using var client = origin.CreateClient();
        var title = await PipelineHarness.WaitForEndAsync(client, titleId, deadline - DateTime.UtcNow);
        WorkerBed.AssertOneEncodeStepPerChunk(title, 6);
        WorkerBed.AssertEverySegmentOnce(Path.Combine(dir.Path, "published", titleId), 6);
        Assert.True(worker.Running, worker.Tail());
        using (var store = JobStore.OpenPostgreSql(database.ConnectionString, TimeProvider.System))
        {
            Assert.Empty(store.ChunkJobs(titleId));
        }

        // Both logged the outage and retried with a growing wait: a handful of attempts over the
        // outage, where retrying at the 0.1 s poll interval would have made some eighty.
        foreach (var (role, process) in new[] { ("origin", origin), ("worker", worker) })
        {
            output.WriteLine($"{role}:\n{process.Tail(60)}");
            var retries = process.Tail(2000).Split('\n').Count(l => l.Contains("job store cannot be reached", StringComparison.Ordinal));
            Assert.True(retries is > 0 and <= 20, $"{role}: {retries} retries logged:\n{process.Tail(40)}");
        }
    }
}
