using System.Net;
using OpenConnect.Testing;
using static OpenConnect.Origin.Tests.Ingest.Ingest;
using static OpenConnect.Origin.Tests.Ingest.Uploaders;

namespace OpenConnect.Origin.Tests.Ingest;

/// <summary>
/// The <c>/files/</c> rate limit: a bucket per client address and one per uploader (real time: the
/// buckets refill at 1 token a second here, and each test spends a burst in well under a second).
/// </summary>
public sealed class UploadRateLimitTests
{
    [Fact]
    public async Task PerAddress_TheRequestPastTheBurstGets429WithRetryAfter_WhileAnotherAddressIsServed()
    {
        using var dir = new TempDirectory();
        await using var origin = await Ingest.StartAsync(dir.Path, new RecordingIntake(dir.Combine("accepted")), null, "--Origin:Ingest:RequestsPerSecondPerAddress=1", "--Origin:Ingest:RequestBurstPerAddress=5");
        using var one = ClientFrom(origin, "127.0.0.2");
        using var other = ClientFrom(origin, "127.0.0.3");
        var url = await Ingest.CreateAsync(one, 100);

        var limited = await SpendBurstAsync(() => HeadAsync(one, url), burst: 5, spent: 1);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.InRange(limited.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));

        using var patch = await PatchAsync(other, url, 0, RandomBytes(100));
        Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
    }

    [Fact]
    public async Task PerUploader_TheirRequestsFromEveryAddressShareOneBucket_AndOthersOnTheSameAddressAreServed()
    {
        using var dir = new TempDirectory();
        await using var origin = await StartWithTokensAsync(dir.Path, new RecordingIntake(dir.Combine("accepted")), null, "--Origin:Ingest:RequestsPerSecondPerUploader=1", "--Origin:Ingest:RequestBurstPerUploader=6");
        using var setup = origin.CreateClient();
        var (ann, _) = await UploaderAsync(setup, "ann");
        var (bob, _) = await UploaderAsync(setup, "bob");
        using var home = ClientFrom(origin, "127.0.0.2");
        using var away = ClientFrom(origin, "127.0.0.3");

        // POST (from home) and HEADs of Ann's upload from both addresses take from her one bucket.
        var url = await Uploaders.CreateAsync(home, ann, 100);
        var turn = 0;
        var limited = await SpendBurstAsync(() => HeadAsync(turn++ % 2 == 0 ? home : away, url), burst: 6, spent: 1);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.True(limited.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        using (var post = await PostAsync(away, ann, 10))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, post.StatusCode);
            Assert.Contains("too many upload requests for this uploader; retry after", await ErrorAsync(post));
        }

        var bobs = await Uploaders.CreateAsync(home, bob, 10);
        using var patch = await PatchAsync(home, bobs, 0, RandomBytes(10));
        Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
    }

    [Fact]
    public async Task Defaults_LetAChunkedUploadOf200Chunks_ResumedThreeTimes_Through()
    {
        using var dir = new TempDirectory();
        var intake = new RecordingIntake(dir.Combine("accepted"));
        await using var origin = await StartWithTokensAsync(dir.Path, intake, null);
        using var client = origin.CreateClient();
        var (ann, _) = await UploaderAsync(client, "ann");
        var data = RandomBytes(200 * 1024);
        var url = await Uploaders.CreateAsync(client, ann, data.Length);
        for (var offset = 0; offset < data.Length; offset += 1024)
        {
            if (offset % (50 * 1024) == 0)
            {
                // As a client does when it resumes.
                Assert.Equal(offset, await OffsetAsync(client, url));
            }

            using var patch = await PatchAsync(client, url, offset, data[offset..(offset + 1024)]);
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        }

        Assert.Equal(Sha256(data), Assert.Single(intake.Submissions).Sha256);
    }

    /// <summary>
    /// Sends requests until one is refused: the <paramref name="burst"/> minus <paramref name="spent"/>
    /// requests the bucket still holds must all pass, one more may (a token refilled meanwhile), the
    /// next must not. Returns the refused response.
    /// </summary>
    private static async Task<HttpResponseMessage> SpendBurstAsync(Func<Task<HttpResponseMessage>> send, int burst, int spent)
    {
        for (var i = 0; i < burst - spent; i++)
        {
            using var passed = await send();
            Assert.True(passed.StatusCode == HttpStatusCode.OK, $"request {i + 1} of the burst answered {(int)passed.StatusCode}");
        }

        for (var extra = 0; extra < 3; extra++)
        {
            var response = await send();
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                return response;
            }

            response.Dispose();
        }

        Assert.Fail("three requests past the burst were all served");
        return null!;
    }
}
