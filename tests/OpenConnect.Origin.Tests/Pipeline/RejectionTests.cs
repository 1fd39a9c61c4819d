using System.Net.Http.Json;
using System.Text.Json;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Pipeline;

/// <summary>Files that are not usable video are rejected at intake with a reason, recorded on the title, and nothing is published.</summary>
public sealed class RejectionTests
{
    [Fact]
    public async Task BadFiles_AreRejected_WithSpecificReasons_AndNothingIsPublished()
    {
        await using var pipeline = await PipelineHarness.StartAsync(null);
        using var scratch = new TempDirectory();

        var text = scratch.Combine("notes.mp4");
        await File.WriteAllTextAsync(text, string.Concat(Enumerable.Repeat("this is a text file, not a video\n", 200)));

        var good = await PipelineMedia.ClipAsync(320, 180, 2);
        var truncated = scratch.Combine("truncated.mp4");
        var bytes = await File.ReadAllBytesAsync(good);
        await File.WriteAllBytesAsync(truncated, bytes[..(bytes.Length / 2)]);

        var undecodable = await UndecodableMkvAsync(scratch);

        var cases = new (string File, string Reason)[]
        {
            (text, "not a readable video file"),
            (await PipelineMedia.PngAsync(), "container 'png_pipe' is not accepted"),
            (await PipelineMedia.AudioOnlyAsync(), "audio but no video stream"),
            (truncated, "not a readable video file"),
            (undecodable, "cannot be decoded"),
        };

        foreach (var (file, reason) in cases)
        {
            var upload = Path.Combine(pipeline.Uploads, Guid.NewGuid().ToString("N"));
            File.Copy(file, upload);
            var source = new Origin.Pipeline.SourceUpload("u-" + Path.GetFileName(upload), upload, new Dictionary<string, string> { ["filename"] = Path.GetFileName(file) });
            var submission = await pipeline.Intake.SubmitAsync(source, CancellationToken.None);

            Assert.False(submission.Accepted, $"{Path.GetFileName(file)} was accepted");
            Assert.Equal("rejected", submission.State);
            Assert.Contains(reason, submission.Reason, StringComparison.Ordinal);
            Assert.True(File.Exists(upload), "a rejected upload stays where it was");

            var title = await pipeline.TitleAsync(submission.TitleId);
            Assert.Equal("rejected", title.GetProperty("state").GetString());
            // The API shows the reason without tool output or paths (the pipeline keeps the full one).
            var shown = title.GetProperty("reason").GetString()!;
            Assert.Contains(reason, shown, StringComparison.Ordinal);
            Assert.StartsWith(shown, submission.Reason, StringComparison.Ordinal);
            Assert.DoesNotContain(pipeline.DataDirectory, shown, StringComparison.Ordinal);
            Assert.Equal(Path.GetFileName(file), title.GetProperty("metadata").GetProperty("filename").GetString());
            Assert.Equal(JsonValueKind.Null, title.GetProperty("urls").ValueKind);

            // Idempotent per upload id: the same answer, no second title.
            var again = await pipeline.Intake.SubmitAsync(source, CancellationToken.None);
            Assert.Equal(submission, again);
        }

        Assert.Equal(0, pipeline.Intake.Backlog);
        Assert.False(Directory.Exists(Path.Combine(pipeline.DataDirectory, "published")) && Directory.EnumerateFileSystemEntries(Path.Combine(pipeline.DataDirectory, "published")).Any());
        var list = await pipeline.Client.GetFromJsonAsync<JsonElement>("/api/titles?limit=3");
        Assert.Equal(3, list.GetProperty("titles").GetArrayLength());
        var all = await pipeline.Client.GetFromJsonAsync<JsonElement>("/api/titles");
        Assert.Equal(cases.Length, all.GetProperty("titles").GetArrayLength());
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, (await pipeline.Client.GetAsync("/api/titles?limit=0")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await pipeline.Client.GetAsync("/api/titles/nosuchtitle")).StatusCode);
    }

    /// <summary>A valid Matroska file whose video track claims a codec id ffmpeg has no decoder for.</summary>
    private static async Task<string> UndecodableMkvAsync(TempDirectory scratch)
    {
        var mkv = scratch.Combine("source.mkv");
        var made = await ExternalProcess.RunAsync("ffmpeg", ["-hide_banner", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=1", "-c:v", "libx264", "-preset", "ultrafast", mkv], TimeSpan.FromSeconds(60));
        Assert.Equal(0, made.ExitCode);
        var bytes = await File.ReadAllBytesAsync(mkv);
        var codecId = "V_MPEG4/ISO/AVC"u8.ToArray();
        var at = bytes.AsSpan().IndexOf(codecId);
        Assert.True(at > 0, "codec id not found in the mkv");
        "V_XYZ/NOCODEC1"u8.CopyTo(bytes.AsSpan(at));
        bytes[at + 14] = (byte)'X';
        var patched = scratch.Combine("undecodable.mkv");
        await File.WriteAllBytesAsync(patched, bytes);
        return patched;
    }
}
