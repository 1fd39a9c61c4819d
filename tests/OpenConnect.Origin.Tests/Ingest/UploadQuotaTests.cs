using System.Net;
using Microsoft.Extensions.Time.Testing;
using OpenConnect.Testing;
using static OpenConnect.Origin.Tests.Ingest.Ingest;
using static OpenConnect.Origin.Tests.Ingest.Uploaders;

namespace OpenConnect.Origin.Tests.Ingest;

/// <summary>Per-uploader quotas at creation, over HTTP with uploader tokens: each is hit with its status and reason, and not hit just below.</summary>
public sealed class UploadQuotaTests
{
    [Fact]
    public async Task UploadsInFlight_OneOverTheLimitGets429_UntilOneIsFinishedOrDeleted()
    {
        using var dir = new TempDirectory();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var origin = await StartWithTokensAsync(dir.Path, new QueueingIntake(dir.Combine("accepted"), clock), clock, "--Origin:Ingest:MaxUploadsInFlightPerUploader=2", "--Origin:Ingest:MaxBacklogPerUploader=10");
        using var client = origin.CreateClient();
        var (ann, _) = await UploaderAsync(client, "ann");
        var (bob, _) = await UploaderAsync(client, "bob");

        var first = await CreateAsync(client, ann, 10);
        var second = await CreateAsync(client, ann, 10);
        using (var over = await PostAsync(client, ann, 10))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, over.StatusCode);
            Assert.Contains("2 unfinished uploads", await ErrorAsync(over));
        }

        Assert.Equal(2, Directory.GetFiles(Path.Combine(dir.Path, "uploads"), "*.json").Length);
        await CreateAsync(client, bob, 10);

        using (var delete = Tus(HttpMethod.Delete, first))
        using (var deleted = await client.SendAsync(delete))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        await CreateAsync(client, ann, 10);
        using (var patch = await PatchAsync(client, second, 0, RandomBytes(10)))
        {
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
            Assert.Equal("queued", Header(patch, "Upload-State"));
        }

        await CreateAsync(client, ann, 10);
        using var again = await PostAsync(client, ann, 10);
        Assert.Equal(HttpStatusCode.TooManyRequests, again.StatusCode);
    }

    [Fact]
    public async Task BytesInFlight_AnUploadThatWouldGoOverGets413_AtCreationOrWhenItsDeferredLengthIsDeclared()
    {
        using var dir = new TempDirectory();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var origin = await StartWithTokensAsync(dir.Path, new QueueingIntake(dir.Combine("accepted"), clock), clock, "--Origin:Ingest:MaxUploadBytes=1000", "--Origin:Ingest:MaxBytesInFlightPerUploader=1500");
        using var client = origin.CreateClient();
        var (ann, _) = await UploaderAsync(client, "ann");
        var (bob, _) = await UploaderAsync(client, "bob");

        await CreateAsync(client, ann, 1000);
        using (var over = await PostAsync(client, ann, 501))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, over.StatusCode);
            Assert.Contains("with the 1000 bytes of this uploader's unfinished uploads is over the limit of 1500 bytes in flight", await ErrorAsync(over));
        }

        await CreateAsync(client, bob, 1000);
        var fits = await CreateAsync(client, ann, 500);
        using (var delete = Tus(HttpMethod.Delete, fits))
        {
            (await client.SendAsync(delete)).Dispose();
        }

        // Deferred: the length declared later is held to the same sum, and so are bytes sent before it.
        var deferred = await CreateDeferredAsync(client, ann);
        using (var tooMuch = await PatchAsync(client, deferred, 0, RandomBytes(501)))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooMuch.StatusCode);
            Assert.Contains("1500 bytes in flight", await ErrorAsync(tooMuch));
        }

        using (var declared = await PatchAsync(client, deferred, 0, [], r => r.Headers.Add("Upload-Length", "501")))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declared.StatusCode);
            Assert.Contains("over the limit of 1500 bytes in flight per uploader", await ErrorAsync(declared));
        }

        using (var last = await PatchAsync(client, deferred, 0, RandomBytes(500), r => r.Headers.Add("Upload-Length", "500")))
        {
            Assert.Equal(HttpStatusCode.NoContent, last.StatusCode);
            Assert.Equal("queued", Header(last, "Upload-State"));
        }
    }

    [Fact]
    public async Task TitlesPerDay_CountOverARolling24Hours_WithRetryAfterUntilTheOldestLeaves()
    {
        using var dir = new TempDirectory();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var origin = await StartWithTokensAsync(dir.Path, new QueueingIntake(dir.Combine("accepted"), clock), clock, "--Origin:Ingest:MaxTitlesPerDayPerUploader=2", "--Origin:Ingest:MaxBacklogPerUploader=10");
        using var client = origin.CreateClient();
        var (ann, _) = await UploaderAsync(client, "ann");
        var (bob, _) = await UploaderAsync(client, "bob");

        await UploadAsync(client, ann, 10);
        clock.Advance(TimeSpan.FromHours(1));

        // The second title is still being uploaded: unfinished uploads count too.
        var second = await CreateAsync(client, ann, 10);
        (await PatchAsync(client, second, 0, RandomBytes(5))).Dispose();
        using (var over = await PostAsync(client, ann, 10))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, over.StatusCode);
            Assert.Equal(TimeSpan.FromHours(23), over.Headers.RetryAfter?.Delta);
            Assert.Contains("started 2 titles in the last 24 h, the limit per uploader is 2", await ErrorAsync(over));
        }

        await CreateAsync(client, bob, 10);
        clock.Advance(TimeSpan.FromHours(23) - TimeSpan.FromSeconds(1));
        using (var stillOver = await PostAsync(client, ann, 10))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, stillOver.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), stillOver.Headers.RetryAfter?.Delta);
        }

        clock.Advance(TimeSpan.FromSeconds(2));
        await CreateAsync(client, ann, 10);
    }

    [Fact]
    public async Task SourceDurationPerDay_UsedUp_CreationGets429()
    {
        using var dir = new TempDirectory();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var intake = new QueueingIntake(dir.Combine("accepted"), clock) { SourceDuration = TimeSpan.FromHours(3) };
        await using var origin = await StartWithTokensAsync(dir.Path, intake, clock, "--Origin:Ingest:MaxSourceDurationPerDayPerUploader=06:00:00", "--Origin:Ingest:MaxBacklogPerUploader=10");
        using var client = origin.CreateClient();
        var (ann, _) = await UploaderAsync(client, "ann");

        await UploadAsync(client, ann, 10);
        await CreateAsync(client, ann, 10);
        await UploadAsync(client, ann, 10);
        clock.Advance(TimeSpan.FromMinutes(30));
        using var over = await PostAsync(client, ann, 10);
        Assert.Equal(HttpStatusCode.TooManyRequests, over.StatusCode);
        Assert.Equal(TimeSpan.FromMinutes(23 * 60 + 30), over.Headers.RetryAfter?.Delta);
        Assert.Contains("sources accepted in the last 24 h last 6 h, the limit per uploader is 6 h", await ErrorAsync(over));
    }

    [Fact]
    public async Task BacklogShare_OneUploaderFillingTheirShare_DoesNotBlockAnother_AndTheirNextUploadWaitsForTheirOwnTurn()
    {
        using var dir = new TempDirectory();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var intake = new QueueingIntake(dir.Combine("accepted"), clock);
        await using var origin = await StartWithTokensAsync(dir.Path, intake, clock, "--Origin:Ingest:MaxBacklog=8", "--Origin:Ingest:RetryAfterSeconds=45", "--Origin:Ingest:DelayedRetryInterval=00:00:10");
        using var client = origin.CreateClient();
        var (ann, annId) = await UploaderAsync(client, "ann");
        var (bob, bobId) = await UploaderAsync(client, "bob");

        // Ann's share is max(1, 8 / 4) = 2 titles in the backlog.
        var third = await CreateAsync(client, ann, 10);
        await UploadAsync(client, ann, 10);
        await UploadAsync(client, ann, 10);
        Assert.Equal(2, intake.SubmittedBy(annId).Count);
        using (var over = await PostAsync(client, ann, 10))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, over.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(45), over.Headers.RetryAfter?.Delta);
            Assert.Contains("2 titles of this uploader are waiting for the transcoder, the most one uploader may have queued is 2", await ErrorAsync(over));
        }

        // An upload Ann began before her share filled waits, its bytes kept, instead of taking a third slot.
        using (var patch = await PatchAsync(client, third, 0, RandomBytes(10)))
        {
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
            Assert.Equal("delayed", Header(patch, "Upload-State"));
            Assert.Contains("queued for the transcoder", Header(patch, "Upload-Reason"));
        }

        // Bob is not held back by Ann's titles.
        var bobs = await UploadAsync(client, bob, 10);
        Assert.Equal("queued", (await StatusAsync(client, bobs, bob)).GetProperty("state").GetString());
        Assert.Single(intake.SubmittedBy(bobId));

        clock.Advance(TimeSpan.FromSeconds(11));
        await Task.Delay(200);
        Assert.Equal("delayed", (await StatusAsync(client, third, ann)).GetProperty("state").GetString());
        intake.FinishOldest(annId);
        await WaitForStateAsync(client, third, "queued", () => clock.Advance(TimeSpan.FromSeconds(11)), ann);
        Assert.Equal(3, intake.SubmittedBy(annId).Count);
    }

    [Theory]
    [InlineData("--Origin:Ingest:MaxBytesInFlightPerUploader=1000", "Origin:Ingest:MaxBytesInFlightPerUploader")]
    [InlineData("--Origin:Ingest:MaxUploadsInFlightPerUploader=0", "Origin:Ingest:MaxUploadsInFlightPerUploader")]
    [InlineData("--Origin:Ingest:MaxTitlesPerDayPerUploader=0", "Origin:Ingest:MaxTitlesPerDayPerUploader")]
    [InlineData("--Origin:Ingest:MaxSourceDurationPerDayPerUploader=01:00:00", "Origin:Ingest:MaxSourceDurationPerDayPerUploader")]
    [InlineData("--Origin:Ingest:MaxBacklogPerUploader=-1", "Origin:Ingest:MaxBacklogPerUploader")]
    [InlineData("--Origin:Ingest:RequestBurstPerAddress=10", "Origin:Ingest:RequestBurstPerAddress")]
    [InlineData("--Origin:Ingest:AbandonAfter=00:00:10", "Origin:Ingest:AbandonAfter")]
    [InlineData("--Origin:Ingest:RecordRetention=00:00:00", "Origin:Ingest:RecordRetention")]
    public async Task InvalidQuotaSettings_StopTheStart_NamingTheKey(string setting, string key)
    {
        using var dir = new TempDirectory();
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => Ingest.StartAsync(dir.Path, new RecordingIntake(dir.Combine("accepted")), null, setting));
        Assert.Contains(key, OpenConnect.Hosting.RoleHost.DescribeStartupFailure(ex));
    }

    private static async Task<string> CreateDeferredAsync(HttpClient client, string token)
    {
        using var response = await PostAsync(client, token, null);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return response.Headers.Location!.OriginalString;
    }
}
