using System.Text.Json;
using OpenConnect.Origin.Pipeline;
using OpenConnect.Origin.Pipeline.Jobs;

namespace OpenConnect.Origin.Tests.Pipeline.Jobs;

/// <summary>What the tests of worker processes on a PostgreSQL job store share: settings, submitting a title, following its chunk jobs.</summary>
internal static class WorkerBed
{
    /// <summary>Settings of an origin or worker on the PostgreSQL database <paramref name="connectionString"/>: 2 s chunks, the fixed ladder, a 3 s lease, one encode per process.</summary>
    public static string[] Settings(string connectionString, params string[] more) =>
    [
        "--Origin:Pipeline:Database:Provider=PostgreSql",
        $"--Origin:Pipeline:Database:ConnectionString={connectionString}",
        "--Origin:Pipeline:SegmentSeconds=2",
        "--Origin:Pipeline:ChunkSeconds=2",
        "--Origin:Pipeline:Ladder=fixed",
        "--Origin:Pipeline:ChunkLease=00:00:03",
        "--Origin:Pipeline:ChunkPollInterval=00:00:00.1",
        "--Origin:Pipeline:MaxParallelEncodes=1",
        .. more,
    ];

    /// <summary>Submits a generated clip straight into the shared store, as an API instance's intake would, with its source in <paramref name="dataDirectory"/>.</summary>
    public static async Task<TitleSubmission> SubmitAsync(JobStore store, string dataDirectory, string uploadId, int width, int height, double seconds)
    {
        var intake = new PipelineIntake(store, new PipelinePaths(dataDirectory), new SourceProbe(TimeSpan.FromSeconds(60)), new PipelineSignal(), new PipelineMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry())), new PipelineTraces());
        var upload = Path.Combine(dataDirectory, "upload.mp4");
        File.Copy(await PipelineMedia.ClipAsync(width, height, seconds), upload);
        var submission = await intake.SubmitAsync(new SourceUpload(uploadId, upload, new Dictionary<string, string> { ["title"] = uploadId }), CancellationToken.None);
        Assert.True(submission.Accepted, submission.Reason);
        return submission;
    }

    /// <summary>The first chunk job of the title found running (by an owner starting with <paramref name="ownerPrefix"/>, when given) and not yet at its end.</summary>
    public static async Task<ChunkJob> WaitForRunningChunkAsync(JobStore store, string titleId, string? ownerPrefix, DateTime deadline)
    {
        while (true)
        {
            var running = store.ChunkJobs(titleId).FirstOrDefault(j => j.State == ChunkJobStates.Running && j.Progress < 1
                && (ownerPrefix is null || j.LeaseOwner?.StartsWith(ownerPrefix, StringComparison.Ordinal) == true));
            if (running is not null)
            {
                return running;
            }

            Assert.True(DateTime.UtcNow < deadline, "no chunk job was claimed in time");
            await Task.Delay(20);
        }
    }

    /// <summary>The title's encode steps, by name, after asserting there is one per chunk (<c>encode/00001</c> … in order).</summary>
    public static Dictionary<string, JsonElement> AssertOneEncodeStepPerChunk(JsonElement title, int chunks)
    {
        Assert.True(title.GetProperty("state").GetString() == "published", title.ToString());
        var steps = title.GetProperty("steps").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!);
        var encodes = steps.Keys.Where(k => k.StartsWith("encode/", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(Enumerable.Range(1, chunks).Select(i => $"encode/{i:d5}"), encodes);
        return steps;
    }

    /// <summary>Asserts every video rendition of a locally published title has <paramref name="segments"/> media segments: none missing or repeated.</summary>
    public static void AssertEverySegmentOnce(string publishedTitle, int segments)
    {
        var renditions = Directory.GetDirectories(publishedTitle).Where(d => Path.GetFileName(d) != "audio" && Directory.GetFiles(d, "seg-*.m4s").Length > 0).ToList();
        Assert.NotEmpty(renditions);
        Assert.All(renditions, r => Assert.Equal(segments, Directory.GetFiles(r, "seg-*.m4s").Length));
    }
}
