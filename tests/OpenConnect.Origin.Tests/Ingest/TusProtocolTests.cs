using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using OpenConnect.Testing;
using static OpenConnect.Origin.Tests.Ingest.Ingest;

namespace OpenConnect.Origin.Tests.Ingest;

/// <summary>The TUS 1.0.0 core protocol and its extensions against the real origin over real sockets.</summary>
public sealed class TusProtocolTests
{
    [Fact]
    public async Task Options_AdvertisesVersionExtensionsAndLimits_WithoutTusResumable()
    {
        using var dir = new TempDirectory();
        await using var origin = await StartAsync(dir.Path, new RecordingIntake(dir.Combine("accepted")), null, "--Origin:Ingest:MaxUploadBytes=1000000");
        using var client = origin.CreateClient();

        using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Options, "/files/"));
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("1.0.0", Header(response, "Tus-Version"));
        Assert.Equal("1000000", Header(response, "Tus-Max-Size"));
        Assert.Equal("sha1,sha256", Header(response, "Tus-Checksum-Algorithm"));
        var extensions = Header(response, "Tus-Extension").Split(',');
        foreach (var extension in new[] { "creation", "creation-with-upload", "creation-defer-length", "expiration", "checksum", "termination", "concatenation" })
        {
            Assert.Contains(extension, extensions);
        }

        Assert.False(response.Headers.Contains("Tus-Resumable"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("0.2.2")]
    [InlineData("2.0.0")]
    public async Task MissingOrUnsupportedVersion_Gets412_WithTusVersion(string? version)
    {
        using var dir = new TempDirectory();
        var intake = new RecordingIntake(dir.Combine("accepted"));
        await using var origin = await StartAsync(dir.Path, intake);
        using var client = origin.CreateClient();

        using var request = new HttpRequestMessage(HttpMethod.Post, "/files/");
        request.Headers.Add("Upload-Length", "10");
        if (version is not null)
        {
            request.Headers.Add("Tus-Resumable", version);
        }

        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        Assert.Equal("1.0.0", Header(response, "Tus-Version"));
        Assert.Equal("1.0.0", Header(response, "Tus-Resumable"));
        Assert.Contains("Tus-Resumable", await response.Content.ReadAsStringAsync());
        Assert.Empty(Directory.GetFiles(Path.Combine(dir.Path, "uploads")));
    }

    [Fact]
    public async Task Upload_InChunks_EchoesMetadata_RejectsBadPatches_AndHandsTheFileToTheIntake()
    {
        using var dir = new TempDirectory();
        var intake = new RecordingIntake(dir.Combine("accepted"));
        await using var origin = await StartAsync(dir.Path, intake);
        using var client = origin.CreateClient();
        var data = RandomBytes(300_000);
        var metadata = Meta(("title", "Night Train"), ("description", "Überfahrt, 4K"), ("tags", "train,night"), ("filename", "night.mp4"));

        var url = await CreateAsync(client, data.Length, metadata);
        using (var head = await HeadAsync(client, url))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal("0", Header(head, "Upload-Offset"));
            Assert.Equal("300000", Header(head, "Upload-Length"));
            Assert.Equal(metadata, Header(head, "Upload-Metadata"));
            Assert.Equal("no-store", Header(head, "Cache-Control"));
            Assert.Equal("1.0.0", Header(head, "Tus-Resumable"));
            // Before its first byte an upload expires after AbandonAfter (1 h), not Expiration.
            Assert.True(DateTimeOffset.TryParse(Header(head, "Upload-Expires"), out var expires) && expires > DateTimeOffset.UtcNow.AddMinutes(59) && expires < DateTimeOffset.UtcNow.AddMinutes(61));
        }

        using (var wrongType = await PatchAsync(client, url, 0, data[..1000], r => r.Content!.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream")))
        {
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, wrongType.StatusCode);
        }

        using (var first = await PatchAsync(client, url, 0, data[..100_000]))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
            Assert.Equal("100000", Header(first, "Upload-Offset"));
            Assert.NotEmpty(Header(first, "Upload-Expires"));
        }

        using (var stale = await PatchAsync(client, url, 0, data[..100_000]))
        {
            Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);
            Assert.Contains("does not match", await stale.Content.ReadAsStringAsync());
        }

        using (var tooMuch = await PatchAsync(client, url, 100_000, RandomBytes(200_001)))
        {
            Assert.Equal((HttpStatusCode)413, tooMuch.StatusCode);
        }

        Assert.Equal(100_000, await OffsetAsync(client, url));
        Assert.Empty(intake.Submissions);

        using (var last = await PatchAsync(client, url, 100_000, data[100_000..]))
        {
            Assert.Equal(HttpStatusCode.NoContent, last.StatusCode);
            Assert.Equal("300000", Header(last, "Upload-Offset"));
        }

        var submission = Assert.Single(intake.Submissions);
        Assert.Equal(Sha256(data), submission.Sha256);
        Assert.Equal("Night Train", submission.Metadata["title"]);
        Assert.Equal("Überfahrt, 4K", submission.Metadata["description"]);
        Assert.Equal("train,night", submission.Metadata["tags"]);
        Assert.Equal("night.mp4", submission.Metadata["filename"]);

        using (var head = await HeadAsync(client, url))
        {
            Assert.Equal("queued", Header(head, "Upload-State"));
            Assert.Equal("t-" + submission.UploadId[..8], Header(head, "Upload-Title-Id"));
            Assert.Equal("300000", Header(head, "Upload-Offset"));
        }

        var status = await StatusAsync(client, url);
        Assert.Equal(300_000, status.GetProperty("offset").GetInt64());
        Assert.Equal(300_000, status.GetProperty("length").GetInt64());
        Assert.Equal("queued", status.GetProperty("state").GetString());
        Assert.Equal("Night Train", status.GetProperty("metadata").GetProperty("title").GetString());
        Assert.Equal("t-" + submission.UploadId[..8], status.GetProperty("titleId").GetString());

        var metrics = await origin.MetricsAsync();
        Assert.Equal(300_000, metrics.Value("openconnect_origin_upload_bytes_received_total") ?? -1);
        Assert.Equal(1, metrics.Value("openconnect_origin_uploads_completed_total") ?? -1);
    }

    [Fact]
    public async Task UnknownUploads_Get404_AndBadCreations_Get400Or413()
    {
        using var dir = new TempDirectory();
        await using var origin = await StartAsync(dir.Path, new RecordingIntake(dir.Combine("accepted")), null, "--Origin:Ingest:MaxUploadBytes=1000", "--Origin:Ingest:MaxMetadataBytes=100");
        using var client = origin.CreateClient();

        using (var head = await HeadAsync(client, "/files/0123456789abcdef0123456789abcdef"))
        {
            Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        }

        using (var patch = await PatchAsync(client, "/files/..%2Fkeys", 0, [1]))
        {
            Assert.Equal(HttpStatusCode.NotFound, patch.StatusCode);
        }

        async Task<HttpResponseMessage> Create(params (string, string)[] headers)
        {
            using var request = Tus(HttpMethod.Post, "/files/");
            foreach (var (name, value) in headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            return await client.SendAsync(request);
        }

        using (var over = await Create(("Upload-Length", "1001")))
        {
            Assert.Equal((HttpStatusCode)413, over.StatusCode);
            Assert.Contains("Tus-Max-Size", await over.Content.ReadAsStringAsync());
        }

        using (var badBase64 = await Create(("Upload-Length", "10"), ("Upload-Metadata", "title not*base64")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, badBase64.StatusCode);
            Assert.Contains("not valid base64", await badBase64.Content.ReadAsStringAsync());
        }

        using (var tooLong = await Create(("Upload-Length", "10"), ("Upload-Metadata", "title " + Convert.ToBase64String(new byte[120]))))
        {
            Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        }

        using (var noLength = await Create())
        {
            Assert.Equal(HttpStatusCode.BadRequest, noLength.StatusCode);
        }

        using (var negative = await Create(("Upload-Length", "-5")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, negative.StatusCode);
        }

        Assert.Empty(Directory.GetFiles(Path.Combine(dir.Path, "uploads")));
    }

    [Theory]
    [InlineData("sha1")]
    [InlineData("sha256")]
    public async Task Checksum_MatchingChunkCommits_MismatchGets460_UnknownAlgorithmGets400_OffsetUnchanged(string algorithm)
    {
        using var dir = new TempDirectory();
        var intake = new RecordingIntake(dir.Combine("accepted"));
        await using var origin = await StartAsync(dir.Path, intake);
        using var client = origin.CreateClient();
        var data = RandomBytes(200_000);
        var url = await CreateAsync(client, data.Length);
        string Digest(byte[] chunk) => Convert.ToBase64String(algorithm == "sha1" ? SHA1.HashData(chunk) : SHA256.HashData(chunk));

        using (var ok = await PatchAsync(client, url, 0, data[..50_000], r => r.Headers.Add("Upload-Checksum", $"{algorithm} {Digest(data[..50_000])}")))
        {
            Assert.Equal(HttpStatusCode.NoContent, ok.StatusCode);
        }

        var wrong = (byte[])data[50_000..100_000].Clone();
        using (var mismatch = await PatchAsync(client, url, 50_000, data[50_000..100_000], r => r.Headers.Add("Upload-Checksum", $"{algorithm} {Digest(data[..50_000])}")))
        {
            Assert.Equal((HttpStatusCode)460, mismatch.StatusCode);
            Assert.Equal("50000", Header(mismatch, "Upload-Offset"));
        }

        Assert.Equal(50_000, await OffsetAsync(client, url));
        Assert.Equal(50_000, new FileInfo(Path.Combine(dir.Path, "uploads", url[7..] + ".bin")).Length);

        using (var unknown = await PatchAsync(client, url, 50_000, data[50_000..100_000], r => r.Headers.Add("Upload-Checksum", $"md5 {Convert.ToBase64String(MD5.HashData(wrong))}")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
            Assert.Contains("not supported", await unknown.Content.ReadAsStringAsync());
        }

        Assert.Equal(50_000, await OffsetAsync(client, url));
        using (var rest = await PatchAsync(client, url, 50_000, data[50_000..], r => r.Headers.Add("Upload-Checksum", $"{algorithm} {Digest(data[50_000..])}")))
        {
            Assert.Equal(HttpStatusCode.NoContent, rest.StatusCode);
        }

        Assert.Equal(Sha256(data), Assert.Single(intake.Submissions).Sha256);
        var metrics = await origin.MetricsAsync();
        Assert.Equal(1, metrics.Value("openconnect_origin_upload_checksum_mismatches_total") ?? -1);
    }

    [Fact]
    public async Task CreationWithUpload_CarriesTheFirstBytes_AndEmptyUploadCompletesAtOnce()
    {
        using var dir = new TempDirectory();
        var intake = new RecordingIntake(dir.Combine("accepted"));
        await using var origin = await StartAsync(dir.Path, intake);
        using var client = origin.CreateClient();
        var data = RandomBytes(80_000);

        using var request = Tus(HttpMethod.Post, "/files/");
        request.Headers.Add("Upload-Length", "80000");
        request.Content = new ByteArrayContent(data[..30_000]);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
        using var created = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("30000", Header(created, "Upload-Offset"));
        Assert.NotEmpty(Header(created, "Upload-Expires"));
        var url = created.Headers.Location!.OriginalString;
        Assert.Equal(30_000, await OffsetAsync(client, url));
        using (var rest = await PatchAsync(client, url, 30_000, data[30_000..]))
        {
            Assert.Equal(HttpStatusCode.NoContent, rest.StatusCode);
        }

        Assert.Equal(Sha256(data), Assert.Single(intake.Submissions).Sha256);

        var empty = await CreateAsync(client, 0, Meta(("title", "empty")));
        Assert.Equal(2, intake.Submissions.Count);
        Assert.Equal(0, intake.Submissions[1].Length);
        Assert.Equal("queued", (await StatusAsync(client, empty)).GetProperty("state").GetString());
    }

    [Fact]
    public async Task DeferredLength_IsSetByALaterPatch_AndCompletesTheUpload()
    {
        using var dir = new TempDirectory();
        var intake = new RecordingIntake(dir.Combine("accepted"));
        await using var origin = await StartAsync(dir.Path, intake);
        using var client = origin.CreateClient();
        var data = RandomBytes(70_000);
        var url = await CreateAsync(client, length: null);

        using (var head = await HeadAsync(client, url))
        {
            Assert.Equal("1", Header(head, "Upload-Defer-Length"));
            Assert.False(head.Content.Headers.Contains("Upload-Length") || head.Headers.Contains("Upload-Length"));
        }

        using (var first = await PatchAsync(client, url, 0, data[..40_000]))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        }

        Assert.Empty(intake.Submissions);
        using (var last = await PatchAsync(client, url, 40_000, data[40_000..], r => r.Headers.Add("Upload-Length", "70000")))
        {
            Assert.Equal(HttpStatusCode.NoContent, last.StatusCode);
        }

        using (var head = await HeadAsync(client, url))
        {
            Assert.Equal("70000", Header(head, "Upload-Length"));
        }

        Assert.Equal(Sha256(data), Assert.Single(intake.Submissions).Sha256);
    }

    [Fact]
    public async Task Termination_DeletesTheUpload_AndMethodOverrideIsHonoured()
    {
        using var dir = new TempDirectory();
        await using var origin = await StartAsync(dir.Path, new RecordingIntake(dir.Combine("accepted")));
        using var client = origin.CreateClient();
        var url = await CreateAsync(client, 1000);

        // PATCH through POST + X-HTTP-Method-Override, as some clients behind proxies send it.
        using (var overridden = Tus(HttpMethod.Post, url))
        {
            overridden.Headers.Add("X-HTTP-Method-Override", "PATCH");
            overridden.Headers.Add("Upload-Offset", "0");
            overridden.Content = new ByteArrayContent(RandomBytes(400));
            overridden.Content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
            using var response = await client.SendAsync(overridden);
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
            Assert.Equal("400", Header(response, "Upload-Offset"));
        }

        using (var delete = Tus(HttpMethod.Delete, url))
        {
            using var response = await client.SendAsync(delete);
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }

        using (var head = await HeadAsync(client, url))
        {
            Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        }

        Assert.Empty(Directory.GetFiles(Path.Combine(dir.Path, "uploads")));
    }

    [Fact]
    public async Task Concatenation_FinalIsAssembledWhenAllPartialsComplete_AndCannotBePatched()
    {
        using var dir = new TempDirectory();
        var intake = new RecordingIntake(dir.Combine("accepted"));
        await using var origin = await StartAsync(dir.Path, intake);
        using var client = origin.CreateClient();
        var a = RandomBytes(60_000);
        var b = RandomBytes(45_000);

        async Task<string> CreatePartial(int length)
        {
            using var request = Tus(HttpMethod.Post, "/files/");
            request.Headers.Add("Upload-Length", length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            request.Headers.Add("Upload-Concat", "partial");
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            return response.Headers.Location!.OriginalString;
        }

        var partA = await CreatePartial(a.Length);
        var partB = await CreatePartial(b.Length);
        (await PatchAsync(client, partA, 0, a)).Dispose();
        Assert.Empty(intake.Submissions);

        using var final = Tus(HttpMethod.Post, "/files/");
        final.Headers.Add("Upload-Concat", $"final;{partA} {new Uri(client.BaseAddress!, partB)}");
        final.Headers.Add("Upload-Metadata", Meta(("title", "joined")));
        using var created = await client.SendAsync(final);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var finalUrl = created.Headers.Location!.OriginalString;

        using (var head = await HeadAsync(client, finalUrl))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.False(head.Headers.Contains("Upload-Offset"));
            Assert.Equal("105000", Header(head, "Upload-Length"));
            Assert.StartsWith("final;", Header(head, "Upload-Concat"));
        }

        using (var patchFinal = await PatchAsync(client, finalUrl, 0, [1, 2, 3]))
        {
            Assert.Equal(HttpStatusCode.Forbidden, patchFinal.StatusCode);
        }

        using (var headA = await HeadAsync(client, partA))
        {
            Assert.Equal("partial", Header(headA, "Upload-Concat"));
        }

        (await PatchAsync(client, partB, 0, b)).Dispose();
        using (var head = await HeadAsync(client, finalUrl))
        {
            Assert.Equal("105000", Header(head, "Upload-Offset"));
            Assert.Equal("queued", Header(head, "Upload-State"));
        }

        var submission = Assert.Single(intake.Submissions);
        Assert.Equal(Sha256([.. a, .. b]), submission.Sha256);
        Assert.Equal("joined", submission.Metadata["title"]);
        Assert.False(File.Exists(Path.Combine(dir.Path, "uploads", partA[7..] + ".bin")));

        using var bogus = Tus(HttpMethod.Post, "/files/");
        bogus.Headers.Add("Upload-Concat", "final;/files/0123456789abcdef0123456789abcdef");
        using var bogusResponse = await client.SendAsync(bogus);
        Assert.Equal(HttpStatusCode.BadRequest, bogusResponse.StatusCode);
    }

    [Fact]
    public async Task Cors_AllowsConfiguredOrigins_AndExposesTusHeaders()
    {
        using var dir = new TempDirectory();
        await using var origin = await StartAsync(dir.Path, new RecordingIntake(dir.Combine("accepted")), null, "--Origin:Ingest:CorsOrigins:0=https://studio.example.org");
        using var client = origin.CreateClient();

        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/files/");
        preflight.Headers.Add("Origin", "https://studio.example.org");
        preflight.Headers.Add("Access-Control-Request-Method", "PATCH");
        using var answer = await client.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
        Assert.Equal("https://studio.example.org", Header(answer, "Access-Control-Allow-Origin"));
        Assert.Contains("PATCH", Header(answer, "Access-Control-Allow-Methods"));
        Assert.Contains("Upload-Offset", Header(answer, "Access-Control-Allow-Headers"));

        using var post = Tus(HttpMethod.Post, "/files/");
        post.Headers.Add("Origin", "https://studio.example.org");
        post.Headers.Add("Upload-Length", "5");
        using var created = await client.SendAsync(post);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Contains("Location", Header(created, "Access-Control-Expose-Headers"));
        Assert.Contains("Upload-Offset", Header(created, "Access-Control-Expose-Headers"));

        using var stranger = new HttpRequestMessage(HttpMethod.Options, "/files/");
        stranger.Headers.Add("Origin", "https://evil.example.com");
        stranger.Headers.Add("Access-Control-Request-Method", "PATCH");
        using var refused = await client.SendAsync(stranger);
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));
    }
}
