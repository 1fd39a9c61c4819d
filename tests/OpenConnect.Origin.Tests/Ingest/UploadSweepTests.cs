using System.Net;
using Microsoft.Extensions.Time.Testing;
using OpenConnect.Testing;
using static OpenConnect.Origin.Tests.Ingest.Ingest;

namespace OpenConnect.Origin.Tests.Ingest;

/// <summary>The sweeper on a fake clock: abandoned and expired uploads lose their data, then their records leave disk and memory.</summary>
public sealed class UploadSweepTests
{
    private static readonly string[] Settings =
    [
        "--Origin:Ingest:AbandonAfter=01:00:00",
        "--Origin:Ingest:Expiration=02:00:00",
        "--Origin:Ingest:RecordRetention=06:00:00",
        "--Origin:Ingest:SweepInterval=00:05:00",
    ];

    [Fact]
    public async Task AnUploadThatNeverReceivesAByte_IsAbandoned_ThenForgotten()
    {
        using var dir = new TempDirectory();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var origin = await StartAsync(dir.Path, new RecordingIntake(dir.Combine("accepted")), clock, Settings);
        using var client = origin.CreateClient();
        var url = await CreateAsync(client, 1000);
        var (body, info) = Files(dir, url);
        using (var head = await HeadAsync(client, url))
        {
            Assert.Equal(clock.GetUtcNow().AddHours(1).ToString("R"), Header(head, "Upload-Expires"));
        }

        // An empty PATCH is no sign of life.
        clock.Advance(TimeSpan.FromMinutes(50));
        using (var empty = await PatchAsync(client, url, 0, []))
        {
            Assert.Equal(HttpStatusCode.NoContent, empty.StatusCode);
        }

        clock.Advance(TimeSpan.FromMinutes(11));
        using (var head = await HeadAsync(client, url))
        {
            Assert.Equal(HttpStatusCode.Gone, head.StatusCode);
        }

        await AdvanceUntilAsync(clock, () => !File.Exists(body));
        var status = await StatusAsync(client, url);
        Assert.Equal("expired", status.GetProperty("state").GetString());
        Assert.StartsWith("abandoned: no byte arrived within 01:00:00", status.GetProperty("reason").GetString());
        Assert.True(File.Exists(info));

        await AdvanceUntilAsync(clock, () => !File.Exists(info), TimeSpan.FromHours(1));
        using (var head = await HeadAsync(client, url))
        {
            Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        }

        using var gone = await client.GetAsync($"/api/uploads/{url[7..]}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        var metrics = await origin.MetricsAsync();
        Assert.Equal(1, metrics.Value("openconnect_origin_uploads_expired_total", ("cause", "abandoned")) ?? -1);
        Assert.Equal(1, metrics.Value("openconnect_origin_upload_records_removed_total") ?? -1);
    }

    [Fact]
    public async Task AnUploadReceivingBytesBeforeItIsAbandoned_LivesOn_UntilItExpires_ThenIsForgotten()
    {
        using var dir = new TempDirectory();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var origin = await StartAsync(dir.Path, new RecordingIntake(dir.Combine("accepted")), clock, Settings);
        using var client = origin.CreateClient();
        var url = await CreateAsync(client, 1000);
        var (body, info) = Files(dir, url);

        clock.Advance(TimeSpan.FromMinutes(59));
        (await PatchAsync(client, url, 0, RandomBytes(100))).Dispose();
        clock.Advance(TimeSpan.FromMinutes(60));
        await Task.Delay(200);
        Assert.Equal(100, await OffsetAsync(client, url));
        Assert.True(File.Exists(body));

        clock.Advance(TimeSpan.FromMinutes(61));
        await AdvanceUntilAsync(clock, () => !File.Exists(body));
        using (var head = await HeadAsync(client, url))
        {
            Assert.Equal(HttpStatusCode.Gone, head.StatusCode);
        }

        Assert.StartsWith("expired", (await StatusAsync(client, url)).GetProperty("reason").GetString());
        await AdvanceUntilAsync(clock, () => !File.Exists(info), TimeSpan.FromHours(1));
        using (var head = await HeadAsync(client, url))
        {
            Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        }

        Assert.Empty(Directory.GetFiles(Path.Combine(dir.Path, "uploads")));
    }

    [Fact]
    public async Task APartialUploadPastItsExpiry_ShowsExpiredInItsStatus_AsHeadSays_BeforeTheSweeperRuns()
    {
        using var dir = new TempDirectory();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var origin = await StartAsync(dir.Path, new RecordingIntake(dir.Combine("accepted")), clock, [.. Settings, "--Origin:Ingest:SweepInterval=1.00:00:00"]);
        using var client = origin.CreateClient();
        string url;
        using (var created = await Uploaders.PostAsync(client, null, 100, "partial"))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            url = created.Headers.Location!.OriginalString;
        }

        (await PatchAsync(client, url, 0, RandomBytes(100))).Dispose();
        Assert.Equal("complete", (await StatusAsync(client, url)).GetProperty("state").GetString());

        clock.Advance(TimeSpan.FromHours(2) + TimeSpan.FromMinutes(1));
        using (var head = await HeadAsync(client, url))
        {
            Assert.Equal(HttpStatusCode.Gone, head.StatusCode);
        }

        Assert.Equal("expired", (await StatusAsync(client, url)).GetProperty("state").GetString());
    }

    [Fact]
    public async Task RecordsOfFinishedUploads_AreKeptForTheRetention_ThenRemoved()
    {
        using var dir = new TempDirectory();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var origin = await StartAsync(dir.Path, new RecordingIntake(dir.Combine("accepted")), clock, Settings);
        using var client = origin.CreateClient();
        var url = await CreateAsync(client, 10);
        (await PatchAsync(client, url, 0, RandomBytes(10))).Dispose();
        var (_, info) = Files(dir, url);

        clock.Advance(TimeSpan.FromHours(5));
        await Task.Delay(200);
        using (var head = await HeadAsync(client, url))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal("queued", Header(head, "Upload-State"));
        }

        await AdvanceUntilAsync(clock, () => !File.Exists(info));
        using (var head = await HeadAsync(client, url))
        {
            Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        }
    }

    [Fact]
    public async Task AnUploadAbandonedWhileTheOriginWasDown_LosesItsDataAtTheFirstSweep()
    {
        using var dir = new TempDirectory();
        var start = DateTimeOffset.UtcNow;
        string url;
        await using (var first = await StartAsync(dir.Path, new RecordingIntake(dir.Combine("accepted")), new FakeTimeProvider(start), Settings))
        {
            using var client = first.CreateClient();
            url = await CreateAsync(client, 1000);
        }

        var (body, info) = Files(dir, url);
        Assert.True(File.Exists(body));
        await using var second = await StartAsync(dir.Path, new RecordingIntake(dir.Combine("accepted")), new FakeTimeProvider(start.AddHours(2)), Settings);
        await WaitAsync(() => !File.Exists(body));
        Assert.True(File.Exists(info));
    }

    private static (string Body, string Info) Files(TempDirectory dir, string url) =>
        (Path.Combine(dir.Path, "uploads", url[7..] + ".bin"), Path.Combine(dir.Path, "uploads", url[7..] + ".json"));

    /// <summary>Moves the clock on by <paramref name="step"/> (a sweep interval by default) until <paramref name="done"/>, 10 s of real time at most.</summary>
    private static async Task AdvanceUntilAsync(FakeTimeProvider clock, Func<bool> done, TimeSpan? step = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!done() && DateTime.UtcNow < deadline)
        {
            clock.Advance(step ?? TimeSpan.FromMinutes(5));
            await Task.Delay(50);
        }

        Assert.True(done(), "the sweeper did not get there within 10 s");
    }

    private static async Task WaitAsync(Func<bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!done() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.True(done(), "the sweeper did not get there within 10 s");
    }
}
