using OpenConnect.Origin.Pipeline;
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
        string[] common =
        [
            $"--Origin:DataDirectory={dir.Path}",
            "--Origin:Pipeline:Database:Provider=PostgreSql",
            $"--Origin:Pipeline:Database:ConnectionString={database.ConnectionString}",
            "--Origin:Pipeline:SegmentSeconds=2",
            "--Origin:Pipeline:ChunkSeconds=2",
            "--Origin:Pipeline:Ladder=fixed",
            "--Origin:Pipeline:ChunkLease=00:00:03",
            "--Origin:Pipeline:ChunkPollInterval=00:00:00.1",
            "--Origin:Pipeline:MaxParallelEncodes=1",
        ];

        // The origin coordinates only; the two workers do every encode.
        await using var origin = await OriginProcess.StartAsync([.. common, "--Origin:Pipeline:EncodeInProcess=false", "--Origin:Ingest:RequireToken=false"]);
        await using var doomed = await OriginProcess.StartAsync([.. common, "--Origin:Role=worker"]);
        await using var survivor = await OriginProcess.StartAsync([.. common, "--Origin:Role=worker"]);

        // Submitted straight into the shared store, as an API instance's intake would.
        using var store = JobStore.OpenPostgreSql(database.ConnectionString, TimeProvider.System);
        var intake = new PipelineIntake(store, new PipelinePaths(dir.Path), new SourceProbe(TimeSpan.FromSeconds(60)), new PipelineSignal(), new PipelineMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry())), new PipelineTraces());
        var upload = Path.Combine(dir.Path, "upload.mp4");
        File.Copy(await PipelineMedia.ClipAsync(1280, 720, 16), upload);
        var submission = await intake.SubmitAsync(new SourceUpload("chaos-1", upload, new Dictionary<string, string> { ["title"] = "chaos" }), CancellationToken.None);
        Assert.True(submission.Accepted, submission.Reason);

        // Kill the doomed worker while it holds a chunk (ffmpeg running under it).
        var owner = $"{Environment.MachineName}/{doomed.Pid}/";
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        ChunkJob? victim = null;
        while (victim is null)
        {
            victim = store.ChunkJobs(submission.TitleId).FirstOrDefault(j => j.State == ChunkJobStates.Running && j.LeaseOwner?.StartsWith(owner, StringComparison.Ordinal) == true && j.Progress < 1);
            Assert.True(DateTime.UtcNow < deadline, "the doomed worker never claimed a chunk");
            await Task.Delay(20);
        }

        await doomed.KillAsync();

        using var client = origin.CreateClient();
        var title = await PipelineHarness.WaitForEndAsync(client, submission.TitleId, deadline - DateTime.UtcNow);
        Assert.True(title.GetProperty("state").GetString() == "published", title.ToString());
        var steps = title.GetProperty("steps").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!);
        var encodes = steps.Keys.Where(k => k.StartsWith("encode/", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(Enumerable.Range(1, 8).Select(i => $"encode/{i:d5}"), encodes);
        // The killed worker's chunk was claimed again once its lease ran out: its second attempt recorded it.
        Assert.True(steps[$"encode/{victim.Chunk:d5}"].GetProperty("attempts").GetInt32() >= 2, steps[$"encode/{victim.Chunk:d5}"].ToString());
        Assert.True(survivor.Running);

        // Every chunk once in every rendition: 16 s in 2 s segments, no segment missing or repeated.
        var renditions = Directory.GetDirectories(Path.Combine(dir.Path, "published", submission.TitleId)).Where(d => Path.GetFileName(d) != "audio" && Directory.GetFiles(d, "seg-*.m4s").Length > 0).ToList();
        Assert.NotEmpty(renditions);
        Assert.All(renditions, r => Assert.Equal(8, Directory.GetFiles(r, "seg-*.m4s").Length));
        Assert.Empty(store.ChunkJobs(submission.TitleId));
    }
}
