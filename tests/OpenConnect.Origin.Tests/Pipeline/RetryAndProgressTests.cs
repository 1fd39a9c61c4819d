using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Origin.Pipeline;
using OpenConnect.Origin.Publishing;

namespace OpenConnect.Origin.Tests.Pipeline;

public sealed class RetryAndProgressTests
{
    /// <summary>A publisher whose integrity step always fails, as when the disk holding the package is full; it records when it was called.</summary>
    private sealed class FullDiskPublisher : ITitlePublisher
    {
        public List<DateTimeOffset> Calls { get; } = [];

        public Task WriteIntegrityManifestAsync(string titleId, string packageDirectory, CancellationToken cancellationToken)
        {
            lock (Calls)
            {
                Calls.Add(DateTimeOffset.UtcNow);
            }

            throw new IOException("No space left on device");
        }

        public Task PublishAsync(string titleId, string packageDirectory, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("publish must not run after a failed integrity step");
    }

    [Fact]
    public async Task FailingStep_IsRetriedWithExponentialBackoff_ThenFailsTheTitleWithAReason_WhileProgressIsVisible()
    {
        var publisher = new FullDiskPublisher();
        await using var pipeline = await PipelineHarness.StartAsync(
            services => services.AddSingleton<ITitlePublisher>(publisher),
            "--Origin:Pipeline:SegmentSeconds=2",
            "--Origin:Pipeline:ChunkSeconds=2",
            "--Origin:Pipeline:MaxAttempts=3",
            "--Origin:Pipeline:RetryDelay=00:00:00.3");
        var submission = await pipeline.SubmitCopyAsync(await PipelineMedia.ClipAsync(426, 240, 4));
        Assert.True(submission.Accepted, submission.Reason);

        var observed = new List<(string? Step, double Percent)>();
        var title = await pipeline.WaitForEndAsync(submission.TitleId, TimeSpan.FromMinutes(2), t =>
            observed.Add((t.GetProperty("step").GetString(), t.GetProperty("percent").GetDouble())));

        Assert.Equal("failed", title.GetProperty("state").GetString());
        Assert.Equal("step integrity failed after 3 attempts: No space left on device", title.GetProperty("reason").GetString());
        var steps = title.GetProperty("steps").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!);
        Assert.Equal(3, steps["integrity"].GetProperty("attempts").GetInt32());
        Assert.Equal("failed", steps["integrity"].GetProperty("state").GetString());
        Assert.All(steps.Values.Where(s => s.GetProperty("name").GetString() != "integrity"), s =>
        {
            Assert.Equal("done", s.GetProperty("state").GetString());
            Assert.Equal(1, s.GetProperty("attempts").GetInt32());
        });
        Assert.False(steps.ContainsKey("publish"));
        Assert.False(Directory.Exists(pipeline.Published(submission.TitleId)));

        // Backoff: 0.3 s, then 0.6 s.
        Assert.Equal(3, publisher.Calls.Count);
        Assert.InRange((publisher.Calls[1] - publisher.Calls[0]).TotalSeconds, 0.28, 5);
        Assert.InRange((publisher.Calls[2] - publisher.Calls[1]).TotalSeconds, 0.58, 5);

        // Progress: never goes back, passes through the steps and stays below 100 for a title that did not publish.
        Assert.True(observed.Zip(observed.Skip(1)).All(p => p.Second.Percent >= p.First.Percent), string.Join(" ", observed));
        Assert.Contains(observed, o => o.Step == "encode" && o.Percent > 0 && o.Percent < 90);
        Assert.True(observed.Select(o => o.Step).Distinct().Count() >= 3, string.Join(" ", observed));
        Assert.InRange(observed[^1].Percent, 80, 99.9);

        var metrics = await pipeline.Origin.MetricsTextAsync();
        Assert.Contains("openconnect_origin_titles{state=\"failed\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("openconnect_origin_pipeline_step_failures_total{step=\"integrity\"} 3", metrics, StringComparison.Ordinal);
        // One encode step per chunk (both rungs of a 2 s chunk in one job): two chunks.
        Assert.Contains("openconnect_origin_pipeline_step_seconds_count{step=\"encode\"} 2", metrics, StringComparison.Ordinal);
        _ = JsonSerializer.Serialize(observed);
    }

    /// <summary>A publisher whose integrity step runs into a media tool's limit: the sandbox's answer for a run it stopped.</summary>
    private sealed class LimitHittingPublisher(MediaToolOutcome outcome) : ITitlePublisher
    {
        public int Calls;

        public Task WriteIntegrityManifestAsync(string titleId, string packageDirectory, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Calls);
            var result = new MediaToolResult("ffmpeg", outcome, 137, "", "", new MediaToolLimits(TimeSpan.FromMinutes(1), 5, 512L << 20, 8L << 20));
            throw new FfmpegFailedException(result.Summary, result);
        }

        public Task PublishAsync(string titleId, string packageDirectory, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("publish must not run after a failed integrity step");
    }

    [Theory]
    [InlineData(MediaToolOutcome.CpuLimit, 1, "ffmpeg used up its CPU time limit (5 s)")]
    [InlineData(MediaToolOutcome.MemoryLimit, 1, "ffmpeg ran out of memory (limit 512 MiB)")]
    [InlineData(MediaToolOutcome.OutputLimit, 1, "ffmpeg wrote a file larger than its limit (8 MiB)")]
    [InlineData(MediaToolOutcome.TimedOut, 3, "ffmpeg did not finish within its time limit (00:01:00)")]
    public async Task AStepStoppedByAResourceLimit_FailsAtOnce_WhileATimeoutIsRetried(MediaToolOutcome outcome, int attempts, string error)
    {
        var publisher = new LimitHittingPublisher(outcome);
        await using var pipeline = await PipelineHarness.StartAsync(
            services => services.AddSingleton<ITitlePublisher>(publisher),
            "--Origin:Pipeline:SegmentSeconds=2",
            "--Origin:Pipeline:ChunkSeconds=2",
            "--Origin:Pipeline:MaxAttempts=3",
            "--Origin:Pipeline:RetryDelay=00:00:00.1");
        var submission = await pipeline.SubmitCopyAsync(await PipelineMedia.ClipAsync(426, 240, 2));
        Assert.True(submission.Accepted, submission.Reason);

        var title = await pipeline.WaitForEndAsync(submission.TitleId, TimeSpan.FromMinutes(2));

        Assert.Equal("failed", title.GetProperty("state").GetString());
        Assert.Equal($"step integrity failed after {attempts} attempt{(attempts == 1 ? "" : "s")}: {error}", title.GetProperty("reason").GetString());
        Assert.Equal(attempts, publisher.Calls);
    }
}
