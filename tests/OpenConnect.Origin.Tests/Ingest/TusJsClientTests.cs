using System.Text.Json;
using OpenConnect.Testing;
using static OpenConnect.Origin.Tests.Ingest.Ingest;

namespace OpenConnect.Origin.Tests.Ingest;

/// <summary>
/// The real tus-js-client (node, <c>tests/node/tus-upload.js</c>) against the real origin: a full
/// upload, an upload whose client is killed mid-PATCH and resumed by a new client process (with
/// and without an origin restart in between), and a parallel upload (partials + final).
/// </summary>
public sealed class TusJsClientTests
{
    private static readonly TimeSpan NodeTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task FullUpload_WithMetadata_ArrivesIntact()
    {
        using var dir = new TempDirectory();
        var intake = new RecordingIntake(dir.Combine("accepted"));
        await using var origin = await StartAsync(dir.Path, intake);
        var (file, sha) = WriteSource(dir, 3_000_000);

        var run = await RunClientAsync(origin, file, "--chunk-size", "524288", "--metadata", """{"title":"Harbour at dawn","tags":"harbour,dawn","filename":"harbour.mp4"}""");
        Assert.Equal(3_000_000, run.GetProperty("bytes").GetInt64());

        var submission = Assert.Single(intake.Submissions);
        Assert.Equal(sha, submission.Sha256);
        Assert.Equal("Harbour at dawn", submission.Metadata["title"]);
        Assert.Equal("harbour,dawn", submission.Metadata["tags"]);
        Assert.Equal("harbour.mp4", submission.Metadata["filename"]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ClientKilledMidUpload_IsResumedByANewClientProcess(bool restartOrigin)
    {
        using var dir = new TempDirectory();
        var intake = new RecordingIntake(dir.Combine("accepted"));
        var origin = await StartAsync(dir.Path, intake);
        try
        {
            var (file, sha) = WriteSource(dir, 4_000_000);
            var killed = await ExternalProcess.RunAsync("node", [Script, "--endpoint", Endpoint(origin), "--file", file, "--chunk-size", "1048576", "--kill-after-bytes", "1800000", "--metadata", """{"title":"cut"}"""], NodeTimeout, NodeDirectory);
            Assert.NotEqual(0, killed.ExitCode);
            var url = Events(killed.StandardOutput).Single(e => e.GetProperty("event").GetString() == "url").GetProperty("url").GetString()!;
            Assert.DoesNotContain(Events(killed.StandardOutput), e => e.GetProperty("event").GetString() == "done");
            Assert.Empty(intake.Submissions);

            if (restartOrigin)
            {
                var port = origin.BaseAddress.Port;
                await origin.DisposeAsync();
                origin = await StartAsync(dir.Path, intake, null, $"--urls=http://127.0.0.1:{port}");
            }

            using var client = origin.CreateClient();
            var offset = await WaitForSettledOffsetAsync(client, new Uri(url).AbsolutePath);
            // Past the first chunk: the bytes of the cut PATCH that arrived were kept.
            Assert.InRange(offset, 1_048_577, 3_999_999);

            var resumed = await RunClientAsync(origin, file, "--chunk-size", "1048576", "--upload-url", url);
            Assert.Equal(url, resumed.GetProperty("url").GetString());
            var submission = Assert.Single(intake.Submissions);
            Assert.Equal(sha, submission.Sha256);
            Assert.Equal("cut", submission.Metadata["title"]);
        }
        finally
        {
            await origin.DisposeAsync();
        }
    }

    [Fact]
    public async Task ParallelUpload_IsConcatenatedIntoOneFile()
    {
        using var dir = new TempDirectory();
        var intake = new RecordingIntake(dir.Combine("accepted"));
        await using var origin = await StartAsync(dir.Path, intake);
        var (file, sha) = WriteSource(dir, 5_000_001);

        await RunClientAsync(origin, file, "--parallel", "3", "--chunk-size", "1048576", "--metadata", """{"title":"in parts"}""");

        var submission = Assert.Single(intake.Submissions);
        Assert.Equal(sha, submission.Sha256);
        Assert.Equal(5_000_001, submission.Length);
        Assert.Equal("in parts", submission.Metadata["title"]);
        using var client = origin.CreateClient();
        Assert.Equal("final", (await StatusAsync(client, "/files/" + submission.UploadId)).GetProperty("concat").GetString());
    }

    private static string NodeDirectory { get; } = FindNodeDirectory();

    private static string Script => Path.Combine(NodeDirectory, "tus-upload.js");

    private static string Endpoint(RunningRole origin) => new Uri(origin.BaseAddress, "/files/").ToString();

    private static async Task<JsonElement> RunClientAsync(RunningRole origin, string file, params string[] extra)
    {
        var result = await ExternalProcess.RunAsync("node", [Script, "--endpoint", Endpoint(origin), "--file", file, .. extra], NodeTimeout, NodeDirectory);
        Assert.True(result.ExitCode == 0, $"tus-js-client failed ({result.ExitCode}): {result.StandardError}");
        return Events(result.StandardOutput).Single(e => e.GetProperty("event").GetString() == "done");
    }

    private static List<JsonElement> Events(string stdout) =>
        [.. stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone())];

    /// <summary>The killed client's PATCH ends on the server when it sees the reset; wait until the offset stops moving.</summary>
    private static async Task<long> WaitForSettledOffsetAsync(HttpClient client, string url)
    {
        var last = -1L;
        for (var i = 0; i < 100; i++)
        {
            var offset = await OffsetAsync(client, url);
            if (offset == last)
            {
                return offset;
            }

            last = offset;
            await Task.Delay(100);
        }

        return last;
    }

    private static (string Path, string Sha256) WriteSource(TempDirectory dir, int length)
    {
        var bytes = RandomBytes(length);
        var path = dir.Combine("source.bin");
        File.WriteAllBytes(path, bytes);
        return (path, Sha256(bytes));
    }

    private static string FindNodeDirectory()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var candidate = Path.Combine(d.FullName, "tests", "node");
            if (File.Exists(Path.Combine(candidate, "package.json")))
            {
                if (!Directory.Exists(Path.Combine(candidate, "node_modules", "tus-js-client")))
                {
                    throw new InvalidOperationException($"tus-js-client is not installed: run 'npm ci' in {candidate} (test.sh does)");
                }

                return candidate;
            }
        }

        throw new InvalidOperationException("tests/node/package.json not found above " + AppContext.BaseDirectory);
    }
}
