using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using OpenConnect.Testing;
using static OpenConnect.Origin.Tests.Ingest.Ingest;

namespace OpenConnect.Origin.Tests.Ingest;

/// <summary>Durability, concurrency, expiry, backpressure and the pipeline boundary.</summary>
public sealed class UploadLifecycleTests
{
    [Fact]
    public async Task PartialUpload_SurvivesARestart_AndResumesAtItsOffset()
    {
        using var dir = new TempDirectory();
        var intake = new RecordingIntake(dir.Combine("accepted"));
        var data = RandomBytes(500_000);
        string url;
        await using (var first = await StartAsync(dir.Path, intake))
        {
            using var client = first.CreateClient();
            url = await CreateAsync(client, data.Length, Meta(("title", "restart")));
            (await PatchAsync(client, url, 0, data[..123_456])).Dispose();
        }

        await using var second = await StartAsync(dir.Path, intake);
        using var again = second.CreateClient();
        using (var head = await HeadAsync(again, url))
        {
            Assert.Equal("123456", Header(head, "Upload-Offset"));
            Assert.Equal(Meta(("title", "restart")), Header(head, "Upload-Metadata"));
        }

        using (var rest = await PatchAsync(again, url, 123_456, data[123_456..]))
        {
            Assert.Equal(HttpStatusCode.NoContent, rest.StatusCode);
        }

        var submission = Assert.Single(intake.Submissions);
        Assert.Equal(Sha256(data), submission.Sha256);
        Assert.Equal("restart", submission.Metadata["title"]);
    }

    [Fact]
    public async Task PatchCutMidBody_KeepsTheBytesWritten_AndASecondWriterMeanwhileGets423()
    {
        using var dir = new TempDirectory();
        var intake = new RecordingIntake(dir.Combine("accepted"));
        await using var origin = await StartAsync(dir.Path, intake);
        using var client = origin.CreateClient();
        var data = RandomBytes(1_000_000);
        var url = await CreateAsync(client, data.Length);
        var body = Path.Combine(dir.Path, "uploads", url[7..] + ".bin");
        long onDiskAtCut;

        using (var raw = await RawHttp.ConnectAsync(origin.BaseAddress))
        {
            await raw.SendAsync($"PATCH {url} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: {data.Length}\r\n\r\n");
            await raw.SendAsync(data[..300_000]);

            // Wait until the server has written its first full buffer (256 KiB) into the body file:
            // the first PATCH is then inside the handler, holding the upload.
            var written = DateTime.UtcNow.AddSeconds(10);
            while ((onDiskAtCut = new FileInfo(body).Length) == 0 && DateTime.UtcNow < written)
            {
                await Task.Delay(10);
            }

            Assert.True(onDiskAtCut > 0, "the server wrote nothing of the 300,000 bytes sent within 10 s");

            // The first PATCH is still receiving: a concurrent one is refused, the upload is locked.
            using var second = await PatchAsync(client, url, 0, data[..10]);
            Assert.Equal((HttpStatusCode)423, second.StatusCode);

            // The client stops mid-body (end of stream after what it sent).
            raw.ShutdownSend();
        }

        // Every byte the server wrote before the cut is kept; bytes Kestrel still buffered when the
        // stream ended may be dropped (its content-length body throws on a completed read without
        // returning them), so the client learns the offset with HEAD and resends from there, as a
        // tus client does. Retry while the cut request still holds the upload (423) or commits
        // between the HEAD and the PATCH (409).
        var deadline = DateTime.UtcNow.AddSeconds(10);
        long offset;
        HttpResponseMessage rest;
        while (true)
        {
            offset = await OffsetAsync(client, url);
            rest = await PatchAsync(client, url, offset, data[(int)offset..]);
            if (rest.StatusCode is not ((HttpStatusCode)423 or HttpStatusCode.Conflict) || DateTime.UtcNow >= deadline)
            {
                break;
            }

            rest.Dispose();
            await Task.Delay(50);
        }

        using (rest)
        {
            Assert.Equal(HttpStatusCode.NoContent, rest.StatusCode);
        }

        Assert.InRange(offset, onDiskAtCut, 300_000);
        var submission = Assert.Single(intake.Submissions);
        Assert.Equal(Sha256(data), submission.Sha256);
    }

    [Fact]
    public async Task ExpiredUpload_Gets410_AndTheSweeperDeletesItsData()
    {
        using var dir = new TempDirectory();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var origin = await StartAsync(dir.Path, new RecordingIntake(dir.Combine("accepted")), clock, "--Origin:Ingest:Expiration=02:00:00", "--Origin:Ingest:SweepInterval=00:10:00");
        using var client = origin.CreateClient();
        var url = await CreateAsync(client, 1000);
        (await PatchAsync(client, url, 0, RandomBytes(100))).Dispose();
        var body = Path.Combine(dir.Path, "uploads", url[7..] + ".bin");

        clock.Advance(TimeSpan.FromMinutes(110));
        Assert.Equal(100, await OffsetAsync(client, url));
        clock.Advance(TimeSpan.FromMinutes(11));

        using (var head = await HeadAsync(client, url))
        {
            Assert.Equal(HttpStatusCode.Gone, head.StatusCode);
        }

        using (var patch = await PatchAsync(client, url, 100, RandomBytes(10)))
        {
            Assert.Equal(HttpStatusCode.Gone, patch.StatusCode);
        }

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (File.Exists(body) && DateTime.UtcNow < deadline)
        {
            clock.Advance(TimeSpan.FromMinutes(10));
            await Task.Delay(50);
        }

        Assert.False(File.Exists(body));
        Assert.Equal("expired", (await StatusAsync(client, url)).GetProperty("state").GetString());
        using (var head = await HeadAsync(client, url))
        {
            Assert.Equal(HttpStatusCode.Gone, head.StatusCode);
        }
    }

    [Fact]
    public async Task Backlogged_RejectMode_Answers503WithRetryAfter_UntilTheBacklogDrops()
    {
        using var dir = new TempDirectory();
        var intake = new RecordingIntake(dir.Combine("accepted")) { Backlog = 3 };
        await using var origin = await StartAsync(dir.Path, intake, null, "--Origin:Ingest:MaxBacklog=3", "--Origin:Ingest:RetryAfterSeconds=17");
        using var client = origin.CreateClient();

        using (var request = Tus(HttpMethod.Post, "/files/"))
        {
            request.Headers.Add("Upload-Length", "10");
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(17), response.Headers.RetryAfter?.Delta);
            Assert.Contains("busy", await response.Content.ReadAsStringAsync());
        }

        Assert.Empty(Directory.GetFiles(Path.Combine(dir.Path, "uploads")));
        intake.Backlog = 2;
        var url = await CreateAsync(client, 4);
        (await PatchAsync(client, url, 0, [1, 2, 3, 4])).Dispose();
        Assert.Single(intake.Submissions);
    }

    [Fact]
    public async Task Backlogged_DelayMode_HoldsCompletedUploads_AcrossARestart_AndSubmitsWhenTheBacklogDrops()
    {
        using var dir = new TempDirectory();
        var intake = new RecordingIntake(dir.Combine("accepted")) { Backlog = 5 };
        string[] settings = ["--Origin:Ingest:MaxBacklog=2", "--Origin:Ingest:WhenBacklogged=delay", "--Origin:Ingest:DelayedRetryInterval=00:00:30"];
        var data = RandomBytes(20_000);
        string url;
        await using (var first = await StartAsync(dir.Path, intake, new FakeTimeProvider(DateTimeOffset.UtcNow), settings))
        {
            using var client = first.CreateClient();
            url = await CreateAsync(client, data.Length, Meta(("title", "later")));
            using var patch = await PatchAsync(client, url, 0, data);
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
            Assert.Equal("delayed", Header(patch, "Upload-State"));
            Assert.Empty(intake.Submissions);
        }

        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var second = await StartAsync(dir.Path, intake, clock, settings);
        using var again = second.CreateClient();
        Assert.Equal("delayed", (await StatusAsync(again, url)).GetProperty("state").GetString());
        clock.Advance(TimeSpan.FromSeconds(31));
        await Task.Delay(200);
        Assert.Empty(intake.Submissions);

        intake.Backlog = 1;
        var status = await WaitForStateAsync(again, url, "queued", () => clock.Advance(TimeSpan.FromSeconds(31)));
        var submission = Assert.Single(intake.Submissions);
        Assert.Equal(Sha256(data), submission.Sha256);
        Assert.Equal("later", submission.Metadata["title"]);
        Assert.Equal("t-" + submission.UploadId[..8], status.GetProperty("titleId").GetString());
    }

    [Fact]
    public async Task RejectedByThePipeline_RecordsTheReason_AndDeletesTheData()
    {
        using var dir = new TempDirectory();
        var intake = new RecordingIntake(dir.Combine("accepted")) { RejectWith = "no decodable video stream (ffprobe)" };
        await using var origin = await StartAsync(dir.Path, intake);
        using var client = origin.CreateClient();
        var url = await CreateAsync(client, 5);
        using var patch = await PatchAsync(client, url, 0, Encoding.ASCII.GetBytes("hello"));
        Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);

        using (var head = await HeadAsync(client, url))
        {
            Assert.Equal("rejected", Header(head, "Upload-State"));
            Assert.Equal("no decodable video stream (ffprobe)", Header(head, "Upload-Reason"));
        }

        var status = await StatusAsync(client, url);
        Assert.Equal("rejected", status.GetProperty("state").GetString());
        Assert.Equal("no decodable video stream (ffprobe)", status.GetProperty("reason").GetString());
        Assert.False(File.Exists(Path.Combine(dir.Path, "uploads", url[7..] + ".bin")));
        Assert.Single(intake.Submissions);
        var metrics = await origin.MetricsAsync();
        Assert.Equal(1, metrics.Value("openconnect_origin_uploads_rejected_total", ("cause", "pipeline")) ?? -1);
    }

    [Fact]
    public async Task WithoutAnIntake_CreationFailsClearly()
    {
        using var dir = new TempDirectory();
        // The origin always registers the pipeline's intake; take it out to see ingest refuse clearly.
        await using var origin = await RunningRole.StartAsync(
            args => OriginHost.Build(args, services => services.RemoveAll<OpenConnect.Origin.Pipeline.IPipelineIntake>()),
            $"--Origin:DataDirectory={dir.Path}",
            "--Origin:Ingest:RequireToken=false");
        using var client = origin.CreateClient();
        using var request = Tus(HttpMethod.Post, "/files/");
        request.Headers.Add("Upload-Length", "10");
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Contains("no pipeline intake", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("--Origin:Ingest:WhenBacklogged=queue", "Origin:Ingest:WhenBacklogged")]
    [InlineData("--Origin:Ingest:MaxBacklog=-1", "Origin:Ingest:MaxBacklog")]
    [InlineData("--Origin:Ingest:MaxUploadBytes=0", "Origin:Ingest:MaxUploadBytes")]
    [InlineData("--Origin:Ingest:CorsOrigins:0=https://a.example/path", "Origin:Ingest:CorsOrigins:0")]
    [InlineData("--Origin:Ingest:Bogus=1", "Bogus")]
    public async Task InvalidSettings_StopTheStart_NamingTheKey(string setting, string key)
    {
        using var dir = new TempDirectory();
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => StartAsync(dir.Path, new RecordingIntake(dir.Combine("accepted")), null, setting));
        Assert.Contains(key, OpenConnect.Hosting.RoleHost.DescribeStartupFailure(ex));
    }
}
