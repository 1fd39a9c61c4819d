using System.Net;
using System.Security.Cryptography;
using Npgsql;
using OpenConnect.Origin.Tests.Storage;
using OpenConnect.Testing;
using static OpenConnect.Origin.Tests.Ingest.Ingest;

namespace OpenConnect.Origin.Tests.Ingest;

/// <summary>
/// The TUS protocol on the shared upload store (records in PostgreSQL, bytes in an s3rver multipart
/// upload): odd-sized PATCHes below and across a part keep the exact offset (the bytes past the last
/// part live in a tail object), HEAD and PATCH work on any instance, a stale offset gets 409, a lock
/// held elsewhere 423 until its session ends, termination deletes every object, completion hands
/// the byte-identical source to the intake.
/// </summary>
public sealed class SharedStoreTusTests(S3rverFixture s3) : IClassFixture<S3rverFixture>
{
    private const int PartSize = SharedStore.PartSize;

    [Fact]
    public async Task OddSizedPatches_BelowAndAcrossParts_KeepTheExactOffset_AndCompleteIntoTheSource()
    {
        await using var shared = await SharedOrigin.StartAsync(s3);
        var (store, intake, client) = (shared.Store, shared.Intake, shared.Client);
        var body = RandomBytes((2 * PartSize) + 1_234_567);
        var url = await CreateAsync(client, body.Length, Meta(("title", "shared")));
        var id = url[(url.LastIndexOf('/') + 1)..];

        var offset = 0;
        foreach (var size in (int[])[1000, PartSize + 17, 3, 3 << 20, (3 << 20) + 5])
        {
            using (var patch = await PatchAsync(client, url, offset, body[offset..(offset + size)]))
            {
                Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
                offset += size;
                Assert.Equal(offset.ToString(System.Globalization.CultureInfo.InvariantCulture), Header(patch, "Upload-Offset"));
            }

            Assert.Equal(offset, await OffsetAsync(client, url));

            // Exactly one tail, holding the bytes past the last full part, named by the offset it ends at.
            var tails = (await store.UploadObjectsAsync()).Where(k => k.StartsWith($"{id}/tail-", StringComparison.Ordinal)).ToList();
            Assert.Equal($"{id}/tail-{offset}", Assert.Single(tails));
            Assert.Equal(body[(offset / PartSize * PartSize)..offset], await store.ObjectAsync(tails[0]));
        }

        Assert.Empty(intake.Submissions);
        using (var last = await PatchAsync(client, url, offset, body[offset..]))
        {
            Assert.Equal(HttpStatusCode.NoContent, last.StatusCode);
        }

        var submission = Assert.Single(intake.Submissions);
        Assert.Equal(Sha256(body), submission.Sha256);
        Assert.Equal("shared", submission.Metadata["title"]);

        // The multipart upload became the source object; no tail is left.
        Assert.Equal([$"{id}/source"], await store.UploadObjectsAsync());
        Assert.Equal(Sha256(body), Sha256(await store.ObjectAsync($"{id}/source")));
        using var head = await HeadAsync(client, url);
        Assert.Equal("queued", Header(head, "Upload-State"));
    }

    [Fact]
    public async Task AnUploadStartedOnOneInstance_ResumesOnAnother_AndAStaleOffsetGets409()
    {
        var store = await SharedStore.CreateAsync(s3);
        await using var database = store.Database;
        using var dirA = new TempDirectory();
        using var dirB = new TempDirectory();
        var intakeA = new RecordingIntake(dirA.Combine("accepted"));
        var intakeB = new RecordingIntake(dirB.Combine("accepted"));
        await using var a = await StartAsync(dirA.Path, intakeA, null, store.Settings("a"));
        await using var b = await StartAsync(dirB.Path, intakeB, null, store.Settings("b"));
        using var clientA = a.CreateClient();
        using var clientB = b.CreateClient();
        var body = RandomBytes(PartSize + (3 << 20));
        var url = await CreateAsync(clientA, body.Length);

        using (var first = await PatchAsync(clientA, url, 0, body[..(3 << 20)]))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        }

        Assert.Equal(3 << 20, await OffsetAsync(clientB, url));
        using (var stale = await PatchAsync(clientB, url, 0, body[..100]))
        {
            Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);
            Assert.Equal((3 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture), Header(stale, "Upload-Offset"));
        }

        // Across the part boundary on B, then A sees B's offset and refuses its own stale one.
        using (var second = await PatchAsync(clientB, url, 3 << 20, body[(3 << 20)..(PartSize + 1000)]))
        {
            Assert.Equal(HttpStatusCode.NoContent, second.StatusCode);
        }

        using (var staleOnA = await PatchAsync(clientA, url, 3 << 20, body[(3 << 20)..]))
        {
            Assert.Equal(HttpStatusCode.Conflict, staleOnA.StatusCode);
            Assert.Equal((PartSize + 1000).ToString(System.Globalization.CultureInfo.InvariantCulture), Header(staleOnA, "Upload-Offset"));
        }

        using (var last = await PatchAsync(clientA, url, PartSize + 1000, body[(PartSize + 1000)..]))
        {
            Assert.Equal(HttpStatusCode.NoContent, last.StatusCode);
        }

        Assert.Empty(intakeB.Submissions);
        Assert.Equal(Sha256(body), Assert.Single(intakeA.Submissions).Sha256);
        using var head = await HeadAsync(clientB, url);
        Assert.Equal(body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), Header(head, "Upload-Offset"));
        Assert.Equal("queued", Header(head, "Upload-State"));
    }

    [Fact]
    public async Task ALockHeldByAnotherSession_Gets423_UntilThatSessionEnds()
    {
        await using var shared = await SharedOrigin.StartAsync(s3);
        var (store, client) = (shared.Store, shared.Client);
        var body = RandomBytes(4000);
        var url = await CreateAsync(client, body.Length);
        var id = url[(url.LastIndexOf('/') + 1)..];

        // What an instance holds while it writes the upload: the advisory lock ("ocin", the id's first 32 bits).
        var other = new NpgsqlConnection(store.Database.ConnectionString);
        await other.OpenAsync();
        await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({0x6f63_696e}, {unchecked((int)Convert.ToUInt32(id[..8], 16))})", other))
        {
            await take.ExecuteNonQueryAsync();
        }

        using (var locked = await PatchAsync(client, url, 0, body[..1000]))
        {
            Assert.Equal((HttpStatusCode)423, locked.StatusCode);
        }

        using (var delete = await client.SendAsync(Tus(HttpMethod.Delete, url)))
        {
            Assert.Equal((HttpStatusCode)423, delete.StatusCode);
        }

        // The holder dies (its session ends, as when an instance is killed): the upload is free again.
        await using (var kill = new NpgsqlCommand("SELECT pg_terminate_backend(pg_backend_pid())", other))
        {
            await Assert.ThrowsAnyAsync<Exception>(() => kill.ExecuteNonQueryAsync());
        }

        await other.DisposeAsync();
        using (var patch = await PatchAsync(client, url, 0, body))
        {
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        }
    }

    [Fact]
    public async Task AChecksumMismatchAcrossAPart_KeepsTheOffset_AndTheUploadCompletesIntact()
    {
        await using var shared = await SharedOrigin.StartAsync(s3);
        var (intake, client) = (shared.Intake, shared.Client);
        var body = RandomBytes(PartSize + 5000);
        var url = await CreateAsync(client, body.Length);
        using (var first = await PatchAsync(client, url, 0, body[..2000]))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        }

        // A part is uploaded on the way, but the digest does not match: nothing is committed.
        var wrong = "sha1 " + Convert.ToBase64String(SHA1.HashData(body[..100]));
        using (var mismatch = await PatchAsync(client, url, 2000, body[2000..], r => r.Headers.Add("Upload-Checksum", wrong)))
        {
            Assert.Equal((HttpStatusCode)460, mismatch.StatusCode);
        }

        Assert.Equal(2000, await OffsetAsync(client, url));
        var right = "sha256 " + Convert.ToBase64String(SHA256.HashData(body[2000..]));
        using (var patch = await PatchAsync(client, url, 2000, body[2000..], r => r.Headers.Add("Upload-Checksum", right)))
        {
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        }

        Assert.Equal(Sha256(body), Assert.Single(intake.Submissions).Sha256);
    }

    [Fact]
    public async Task Termination_DeletesTheRecordAndEveryObject_AndConcatenationIsRefused()
    {
        await using var shared = await SharedOrigin.StartAsync(s3);
        var (store, client) = (shared.Store, shared.Client);
        var body = RandomBytes(PartSize + 10);
        var url = await CreateAsync(client, body.Length + 100);
        var id = url[(url.LastIndexOf('/') + 1)..];
        using (var patch = await PatchAsync(client, url, 0, body))
        {
            Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        }

        Assert.Contains($"{id}/tail-{body.Length}", await store.UploadObjectsAsync());
        using (var delete = await client.SendAsync(Tus(HttpMethod.Delete, url)))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        using (var head = await HeadAsync(client, url))
        {
            Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        }

        Assert.DoesNotContain(await store.UploadObjectsAsync(), k => k.StartsWith(id, StringComparison.Ordinal));
        await using (var connection = new NpgsqlConnection(store.Database.ConnectionString))
        {
            await connection.OpenAsync();
            await using var count = new NpgsqlCommand("SELECT COUNT(*) FROM ingest_uploads", connection);
            Assert.Equal(0L, await count.ExecuteScalarAsync());
        }

        using var options = await client.SendAsync(new HttpRequestMessage(HttpMethod.Options, "/files/"));
        Assert.DoesNotContain("concatenation", Header(options, "Tus-Extension"), StringComparison.Ordinal);
        using var partial = Tus(HttpMethod.Post, "/files/");
        partial.Headers.Add("Upload-Length", "10");
        partial.Headers.Add("Upload-Concat", "partial");
        using var refused = await client.SendAsync(partial);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("does not offer concatenation", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    /// <summary>One origin on a fresh shared store (database, bucket prefix) with a <see cref="RecordingIntake"/>, and a client for it.</summary>
    private sealed class SharedOrigin : IAsyncDisposable
    {
        private readonly TempDirectory _directory;
        private readonly RunningRole _origin;

        private SharedOrigin(SharedStore store, TempDirectory directory, RecordingIntake intake, RunningRole origin)
        {
            Store = store;
            _directory = directory;
            Intake = intake;
            _origin = origin;
            Client = origin.CreateClient();
        }

        public SharedStore Store { get; }

        public RecordingIntake Intake { get; }

        public HttpClient Client { get; }

        public static async Task<SharedOrigin> StartAsync(S3rverFixture s3)
        {
            var store = await SharedStore.CreateAsync(s3);
            var directory = new TempDirectory();
            var intake = new RecordingIntake(directory.Combine("accepted"));
            return new SharedOrigin(store, directory, intake, await Ingest.StartAsync(directory.Path, intake, null, store.Settings()));
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await _origin.DisposeAsync();
            await Store.Database.DisposeAsync();
            _directory.Dispose();
        }
    }
}
