using System.Net;
using OpenConnect.Testing;
using static OpenConnect.Origin.Tests.Ingest.Ingest;
using static OpenConnect.Origin.Tests.Ingest.Uploaders;

namespace OpenConnect.Origin.Tests.Ingest;

/// <summary>
/// The duration limits, which only the probe can check: the real origin and pipeline with real
/// ffprobe on a 3-second source; a source over a limit is rejected naming the limit and its file is
/// deleted.
/// </summary>
public sealed class SourceDurationLimitTests
{
    [Fact]
    public async Task ASourceLongerThanTheLimitPerTitle_IsRejectedAtProbe_WithTheReason_AndItsFileDeleted()
    {
        using var dir = new TempDirectory();
        await using var origin = await StartWithTokensAsync(dir.Path, null, null, "--Origin:Ingest:MaxSourceDuration=00:00:02", "--Origin:Ingest:MaxSourceDurationPerDayPerUploader=01:00:00");
        using var client = origin.CreateClient();
        var (ann, _) = await UploaderAsync(client, "ann");

        var url = await UploadFileAsync(client, ann, await SampleMedia.GetAsync(SampleMedia.MovSmall));
        var status = await StatusAsync(client, url, ann);
        Assert.Equal("rejected", status.GetProperty("state").GetString());
        var reason = status.GetProperty("reason").GetString()!;
        Assert.StartsWith("the source is 3", reason);
        Assert.EndsWith("long, over the limit of 2 s per title", reason);
        Assert.False(File.Exists(Path.Combine(dir.Path, "uploads", url[7..] + ".bin")));

        var title = await GetJsonAsync(client, $"/api/titles/{status.GetProperty("titleId").GetString()}", ann);
        Assert.Contains("over the limit of 2 s per title", title.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task ASourceTakingTheUploaderOverTheDurationPerDay_IsRejectedAtProbe_WhileAnotherUploaderIsAccepted()
    {
        using var dir = new TempDirectory();
        await using var origin = await StartWithTokensAsync(dir.Path, null, null, "--Origin:Ingest:MaxSourceDuration=00:00:04", "--Origin:Ingest:MaxSourceDurationPerDayPerUploader=00:00:05", "--Origin:Pipeline:MaxParallelEncodes=1");
        using var client = origin.CreateClient();
        var (ann, _) = await UploaderAsync(client, "ann");
        var (bob, _) = await UploaderAsync(client, "bob");
        var source = await SampleMedia.GetAsync(SampleMedia.MovSmall);

        var first = await UploadFileAsync(client, ann, source);
        Assert.NotEqual("rejected", (await StatusAsync(client, first, ann)).GetProperty("state").GetString());

        var second = await UploadFileAsync(client, ann, source);
        var status = await StatusAsync(client, second, ann);
        Assert.Equal("rejected", status.GetProperty("state").GetString());
        var reason = status.GetProperty("reason").GetString()!;
        Assert.Contains("accepted from this uploader in the last 24 h that is over the limit of 5 s per uploader in 24 h", reason);
        Assert.False(File.Exists(Path.Combine(dir.Path, "uploads", second[7..] + ".bin")));

        var bobs = await UploadFileAsync(client, bob, source);
        Assert.NotEqual("rejected", (await StatusAsync(client, bobs, bob)).GetProperty("state").GetString());
    }

    private static async Task<string> UploadFileAsync(HttpClient client, string token, string path)
    {
        var bytes = await File.ReadAllBytesAsync(path);
        var url = await CreateAsync(client, token, bytes.Length);
        using var patch = await PatchAsync(client, url, 0, bytes);
        Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        return url;
    }
}
