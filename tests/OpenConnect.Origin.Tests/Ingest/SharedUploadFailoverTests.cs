using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Npgsql;
using OpenConnect.Origin.Tests.Storage;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Ingest;

/// <summary>
/// Two origin processes on one PostgreSQL database and one s3rver (<c>Origin:Ingest:Store=Shared</c>)
/// behind nginx, round-robin: tus-js-client uploads a real video, the instance writing it is killed
/// with SIGKILL in the middle of the upload, the client resumes through the other, and the title is
/// published from a source byte-identical to the file.
/// </summary>
public sealed class SharedUploadFailoverTests(S3rverFixture s3) : IClassFixture<S3rverFixture>
{
    /// <summary>The classid of the upload locks in <c>pg_locks</c> ("ocin").</summary>
    private const long LockClass = 0x6f63_696e;

    [Fact]
    public async Task AnInstanceKilledMidUpload_TheClientResumesThroughTheOther_AndTheTitleIsPublishedIntact()
    {
        var store = await SharedStore.CreateAsync(s3);
        await using var database = store.Database;
        using var dir = new TempDirectory("oc-shared-failover");
        var video = dir.Combine("video.mp4");
        await MakeVideoAsync(video);
        var length = new FileInfo(video).Length;
        Assert.True(length > 3L * SharedStore.PartSize, $"the video has {length} bytes, fewer than three parts");
        var sha = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(video)));

        // One data directory, as instances on a shared filesystem: the pipeline's work directory is there.
        var data = dir.Combine("data");
        string[] Common(string name) =>
        [
            $"--Origin:DataDirectory={data}", "--Origin:Ingest:RequireToken=false", "--Origin:Pipeline:SegmentSeconds=2",
            .. store.Settings(name),
        ];
        var a = await OriginProcess.StartAsync(Common("origin-a"));
        var b = await OriginProcess.StartAsync(Common("origin-b"));
        var instances = new Dictionary<string, RoleProcess> { ["origin-a"] = a, ["origin-b"] = b };
        try
        {
            await using var nginx = await Nginx.StartAsync(a.BaseAddress, b.BaseAddress);
            await using var relay = new ThrottledRelay(nginx.BaseAddress, 6 << 20);
            var upload = ExternalProcess.RunAsync(
                "node",
                [Path.Combine(NodeDirectory, "tus-upload.js"), "--endpoint", new Uri(relay.BaseAddress, "/files/").ToString(), "--file", video, "--metadata", """{"title":"Failover"}"""],
                TimeSpan.FromMinutes(3),
                NodeDirectory);

            // Once a part is committed, kill whichever instance holds the upload's lock: it is writing the PATCH.
            var (killed, offsetAtKill) = await KillWriterMidUploadAsync(database.ConnectionString, instances, length, upload);
            var survivor = instances.Values.Single(i => i != killed);

            var run = await upload;
            Assert.True(run.ExitCode == 0, $"tus-js-client failed ({run.ExitCode}): {run.StandardError}\n{run.StandardOutput}\nnginx: {nginx.ErrorLog}\nsurvivor: {survivor.Tail(40)}");
            var done = run.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).Single(e => e.GetProperty("event").GetString() == "done");
            var url = done.GetProperty("url").GetString()!;
            var id = url[(url.LastIndexOf('/') + 1)..];
            Assert.InRange(offsetAtKill, SharedStore.PartSize, length - 1);

            using var client = survivor.CreateClient();
            var titleId = await TitleIdAsync(client, new Uri(url).AbsolutePath);
            await WaitForPublishedAsync(client, titleId, survivor);

            // The source the pipeline took is the file, byte for byte: the object the multipart upload became.
            Assert.Equal(sha, Convert.ToHexStringLower(SHA256.HashData(await store.ObjectAsync($"{id}/source"))));
            Assert.DoesNotContain(await store.UploadObjectsAsync(), k => k.StartsWith($"{id}/tail-", StringComparison.Ordinal));
            var integrity = await client.GetAsync($"/v/{titleId}/integrity.json");
            Assert.Equal(HttpStatusCode.OK, integrity.StatusCode);
        }
        finally
        {
            await a.DisposeAsync();
            await b.DisposeAsync();
        }
    }

    private static string NodeDirectory => Path.Combine(RepositoryPaths.Root, "tests", "node");

    private static async Task MakeVideoAsync(string path)
    {
        // Four seconds of lossless 360p with a little noise: about 24 MB, several 5 MiB parts, quick to transcode.
        var result = await ExternalProcess.RunAsync(
            "ffmpeg",
            ["-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=4",
                "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=4",
                "-vf", "noise=alls=6:allf=t", "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p", "-g", "60",
                "-c:a", "aac", "-b:a", "96k", "-shortest", path],
            TimeSpan.FromMinutes(2));
        Assert.True(result.ExitCode == 0, result.StandardError);
    }

    /// <summary>Polls PostgreSQL for the instance holding an upload lock (its application name) while the committed offset is past the first part and short of the end; kills it with SIGKILL.</summary>
    private static async Task<(RoleProcess Killed, long Offset)> KillWriterMidUploadAsync(string connectionString, Dictionary<string, RoleProcess> instances, long length, Task upload)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"""
            SELECT a.application_name, u.upload_offset
            FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            JOIN ingest_uploads u ON ('x' || lpad(substr(u.id, 1, 8), 16, '0'))::bit(64)::bigint = l.objid::bigint
            WHERE l.locktype = 'advisory' AND l.classid::bigint = {LockClass} AND l.objsubid = 2 AND l.granted
            """,
            connection);
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (DateTime.UtcNow < deadline && !upload.IsCompleted)
        {
            await using (var reader = await command.ExecuteReaderAsync())
            {
                if (await reader.ReadAsync())
                {
                    var holder = reader.GetString(0);
                    var offset = reader.GetInt64(1);
                    if (offset >= SharedStore.PartSize && offset < length && instances.TryGetValue(holder, out var writer))
                    {
                        await writer.KillAsync();
                        return (writer, offset);
                    }
                }
            }

            await Task.Delay(20);
        }

        throw new Xunit.Sdk.XunitException("the upload ended (or never got past its first part) before an instance could be killed in the middle of it");
    }

    private static async Task<string> TitleIdAsync(HttpClient client, string path)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            using var head = await client.SendAsync(Ingest.Tus(HttpMethod.Head, path));
            if (head.Headers.TryGetValues("Upload-Title-Id", out var values))
            {
                return values.Single();
            }

            Assert.True(DateTime.UtcNow < deadline, $"the upload got no title: {Ingest.Header(head, "Upload-State")} {Ingest.Header(head, "Upload-Reason")}");
            await Task.Delay(200);
        }
    }

    private static async Task WaitForPublishedAsync(HttpClient client, string titleId, RoleProcess survivor)
    {
        var deadline = DateTime.UtcNow.AddMinutes(4);
        string? status = null;
        while (status != "published")
        {
            Assert.True(DateTime.UtcNow < deadline, $"title {titleId} is {status}, not published: {survivor.Tail(40)}");
            await Task.Delay(500);
            using var title = await client.GetAsync($"/api/v1/titles/{titleId}");
            status = title.StatusCode == HttpStatusCode.OK ? JsonDocument.Parse(await title.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString() : null;
            Assert.NotEqual("failed", status);
        }
    }
}
