using System.Security.Cryptography;
using Amazon.S3.Model;
using OpenConnect.Contracts.Content;
using OpenConnect.Origin.Pipeline.Jobs;
using OpenConnect.Origin.Storage;
using OpenConnect.Origin.Tests.Storage;
using OpenConnect.Testing;
using OpenConnect.Testing.Postgres;

namespace OpenConnect.Origin.Tests.Pipeline.Jobs;

/// <summary>
/// A worker process on "another host": its own data directory, nothing shared with the coordinator
/// but PostgreSQL and the bucket (s3rver); the title's source and chunk outputs go through the bucket's work prefix.
/// </summary>
public sealed class RemoteWorkerTests(S3rverFixture s3) : IClassFixture<S3rverFixture>
{
    [Fact]
    public async Task AWorkerWithItsOwnDataDirectory_EncodesEveryChunkThroughTheBucket_AndTheTitleIsPublishedByteServable()
    {
        await using var database = await TestDatabase.CreateAsync();
        using var coordinatorDirectory = new TempDirectory("oc-remote-coordinator");
        using var workerDirectory = new TempDirectory("oc-remote-worker");
        var bucketPrefix = "remote-" + Guid.NewGuid().ToString("N");
        var common = WorkerBed.Settings(database.ConnectionString, s3.Server.OriginSettings(S3rverFixture.Bucket, $"--Origin:Storage:S3:Prefix={bucketPrefix}"));
        await using var origin = await OriginProcess.StartAsync([.. common, $"--Origin:DataDirectory={coordinatorDirectory.Path}", "--Origin:Pipeline:EncodeInProcess=false", "--Origin:Ingest:RequireToken=false"]);
        await using var worker = await OriginProcess.StartAsync([.. common, $"--Origin:DataDirectory={workerDirectory.Path}", "--Origin:Role=worker"]);

        using var store = JobStore.OpenPostgreSql(database.ConnectionString, TimeProvider.System);
        var submission = await WorkerBed.SubmitAsync(store, coordinatorDirectory.Path, "remote-1", 640, 360, 8);
        var sourceBytes = new FileInfo(store.Get(submission.TitleId)!.SourceFile!).Length;

        // While it runs, the worker's chunks come from its own copy of the source, fetched from the bucket.
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        var running = await WorkerBed.WaitForRunningChunkAsync(store, submission.TitleId, $"{Environment.MachineName}/{worker.Pid}/", deadline);
        Assert.Contains($"\"SourceObject\":\"{submission.TitleId}/source\"", running.Spec, StringComparison.Ordinal);

        using var client = origin.CreateClient();
        var title = await PipelineHarness.WaitForEndAsync(client, submission.TitleId, deadline - DateTime.UtcNow);
        WorkerBed.AssertOneEncodeStepPerChunk(title, 4);

        // Served from the bucket, every file as the integrity manifest lists it; 4 segments per video rendition.
        var manifest = IntegrityManifest.Parse(await client.GetByteArrayAsync($"/v/{submission.TitleId}/integrity.json"));
        foreach (var (file, entry) in manifest.Files)
        {
            var body = await client.GetByteArrayAsync($"/v/{submission.TitleId}/{file}");
            Assert.Equal(entry.Size, body.Length);
            Assert.Equal(entry.Sha256, Convert.ToHexStringLower(SHA256.HashData(body)));
        }

        var segments = manifest.Files.Keys.Where(f => f.Contains("/seg-", StringComparison.Ordinal) && !f.StartsWith("audio/", StringComparison.Ordinal)).GroupBy(f => f.Split('/')[0]).ToList();
        Assert.NotEmpty(segments);
        Assert.All(segments, rendition => Assert.Equal(4, rendition.Count()));

        // The worker encoded in its own data directory, from no source of its own there.
        Assert.True(Directory.Exists(Path.Combine(workerDirectory.Path, "work", submission.TitleId)));
        Assert.False(File.Exists(Path.Combine(workerDirectory.Path, "work", submission.TitleId, "source.mp4")));

        // The worker fetched the source once, put every chunk; its cached copy is gone with the title's last chunk.
        var metrics = await worker.MetricsAsync();
        Assert.Equal((double)sourceBytes, metrics.Value("openconnect_origin_pipeline_work_object_bytes_total", ("direction", "get"), ("object", "source")));
        Assert.True(metrics.Value("openconnect_origin_pipeline_work_object_bytes_total", ("direction", "put"), ("object", "chunk")) > 0);
        Assert.False(Directory.Exists(Path.Combine(workerDirectory.Path, "work-cache", submission.TitleId)));

        // The title's work prefix is deleted once it is published; the published version stays.
        using var bucket = ObjectStoreRegistration.CreateClient(s3.Options(bucketPrefix));
        var work = await bucket.ListObjectsV2Async(new ListObjectsV2Request { BucketName = S3rverFixture.Bucket, Prefix = bucketPrefix + "/work/" });
        Assert.Empty(work.S3Objects ?? []);
        var published = await bucket.ListObjectsV2Async(new ListObjectsV2Request { BucketName = S3rverFixture.Bucket, Prefix = bucketPrefix + "/published/" + submission.TitleId + "/" });
        Assert.NotEmpty(published.S3Objects ?? []);
        Assert.Empty(store.ChunkJobs(submission.TitleId));
    }
}
