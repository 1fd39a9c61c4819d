using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenConnect.Origin.Pipeline;
using OpenConnect.Origin.Pipeline.Jobs;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Pipeline;

public sealed class ResumeTests
{
    [Fact]
    public async Task KilledOrigin_ResumesAfterTheLastFinishedStep_WithoutRedoingFinishedSteps()
    {
        using var dir = new TempDirectory("openconnect-resume");
        string[] settings = [$"--Origin:DataDirectory={dir.Path}", "--Origin:Pipeline:SegmentSeconds=2", "--Origin:Pipeline:ChunkSeconds=2", "--Origin:Pipeline:MaxParallelEncodes=1",
            // The title is submitted without an uploader; with uploads open to anyone its status is too.
            "--Origin:Ingest:RequireToken=false"];

        // Submitted while no origin runs, as a crash right after intake would leave it: the worker picks it up on start.
        var intake = new PipelineIntake(
            JobStore.OpenSqlite(Path.Combine(dir.Path, "pipeline.db"), TimeProvider.System),
            new PipelinePaths(dir.Path),
            new SourceProbe(TimeSpan.FromSeconds(60)),
            new PipelineSignal(),
            new PipelineMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry())),
            new PipelineTraces());
        var upload = Path.Combine(dir.Path, "upload.mkv");
        File.Copy(await SampleMedia.GetAsync(SampleMedia.MkvHd), upload);
        var submission = await intake.SubmitAsync(new SourceUpload("resume-1", upload, new Dictionary<string, string> { ["title"] = "resume" }), CancellationToken.None);
        Assert.Equal("queued", submission.State);

        Dictionary<string, JsonElement> before;
        await using (var first = await OriginProcess.StartAsync(settings))
        {
            using var client = first.CreateClient();
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
            while (true)
            {
                var title = await client.GetFromJsonAsync<JsonElement>($"/api/titles/{submission.TitleId}");
                var done = Steps(title).Values.Count(s => s.GetProperty("state").GetString() == "done" && s.GetProperty("name").GetString()!.StartsWith("encode/", StringComparison.Ordinal));
                if (done >= 1)
                {
                    break;
                }

                Assert.True(DateTime.UtcNow < deadline, $"no encodes finished in time: {title}");
                await Task.Delay(50);
            }

            await first.KillAsync();
        }

        // Read what was recorded at the moment of the kill straight from the database.
        var store = JobStore.OpenSqlite(Path.Combine(dir.Path, "pipeline.db"), TimeProvider.System);
        var recorded = store.Steps(submission.TitleId);
        var finished = recorded.Where(s => s.State == "done").ToDictionary(s => s.Name);
        Assert.Contains("probe", finished.Keys);
        Assert.Contains("chunk", finished.Keys);
        Assert.DoesNotContain("package", finished.Keys);
        Assert.Equal("processing", store.Get(submission.TitleId)!.State);

        await using (var second = await OriginProcess.StartAsync(settings))
        {
            using var client = second.CreateClient();
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
            JsonElement title;
            while (true)
            {
                title = await client.GetFromJsonAsync<JsonElement>($"/api/titles/{submission.TitleId}");
                if (title.GetProperty("state").GetString() is "published" or "failed")
                {
                    break;
                }

                Assert.True(DateTime.UtcNow < deadline, $"not finished in time: {title}");
                await Task.Delay(100);
            }

            Assert.True(title.GetProperty("state").GetString() == "published", title.ToString());
            before = Steps(title);
            var master = await client.GetAsync($"/v/{submission.TitleId}/master.m3u8");
            Assert.Equal(HttpStatusCode.OK, master.StatusCode);
        }

        foreach (var (name, step) in finished)
        {
            var after = before[name];
            Assert.Equal(1, after.GetProperty("attempts").GetInt32());
            Assert.Equal(step.FinishedAt, after.GetProperty("finishedAt").GetDateTimeOffset());
        }

        Assert.All(before.Values, s => Assert.Equal("done", s.GetProperty("state").GetString()));
        // One encode step per chunk (each writes all five rungs of its chunk): two 2 s chunks.
        Assert.Equal(["encode/00001", "encode/00002"], before.Keys.Where(k => k.StartsWith("encode/", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        var segmentCounts = new[] { "144p", "240p", "360p", "480p", "720p" }
            .Select(r => Directory.GetFiles(Path.Combine(dir.Path, "published", submission.TitleId, r), "seg-*.m4s").Length)
            .Distinct()
            .ToList();
        Assert.Equal([2], segmentCounts);
    }

    private static Dictionary<string, JsonElement> Steps(JsonElement title) =>
        title.GetProperty("steps").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!);
}
