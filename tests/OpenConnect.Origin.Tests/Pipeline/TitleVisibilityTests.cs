using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenConnect.Origin.Pipeline;
using OpenConnect.Origin.Pipeline.Jobs;
using OpenConnect.Origin.Tests.Catalog;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Pipeline;

/// <summary>
/// Pipeline titles and uploads (<c>/api/titles</c>, <c>/api/uploads/{id}</c>) are their uploader's
/// and admins' business: 401 without a token, 404 for another user's (as for none), reasons without
/// paths or tool output; the QoE summary shows no session ids. Real origin, real TUS uploads, real
/// ffprobe rejecting a text file.
/// </summary>
public sealed class TitleVisibilityTests
{
    private const string Password = "admin password 1";

    [Fact]
    public async Task TitlesAndUploads_AreVisibleToTheirUploaderAndAdmins_Only_WithReasonsFreeOfPathsAndToolOutput()
    {
        using var secrets = new TempDirectory("oc-visibility");
        var passwordFile = secrets.Combine("admin-password.txt");
        await File.WriteAllTextAsync(passwordFile, Password + "\n");
        await using var origin = await CatalogOrigin.StartAsync($"--Origin:Catalog:AdminPasswordFile={passwordFile}");
        var (alice, _) = await origin.UserAsync("alice", "uploader");
        var (bob, _) = await origin.UserAsync("bob", "uploader");
        var (carol, _) = await origin.UserAsync("carol", "viewer");
        var admin = await LoginAsync(origin, "admin");

        var aliceUpload = await UploadTextAsync(origin.Client, alice, "alice-notes.mp4");
        var bobUpload = await UploadTextAsync(origin.Client, bob, "bob-notes.mp4");
        var aliceStatus = await WaitForRejectionAsync(origin.Client, aliceUpload, alice);
        var bobStatus = await WaitForRejectionAsync(origin.Client, bobUpload, bob);
        var aliceTitle = aliceStatus.GetProperty("titleId").GetString()!;
        var bobTitle = bobStatus.GetProperty("titleId").GetString()!;

        // Anonymous: 401 for the list, any title and any upload (existing or not), with the way in named.
        foreach (var path in new[] { "/api/titles", $"/api/titles/{aliceTitle}", "/api/titles/nosuchtitle", $"/api/uploads/{aliceUpload}", "/api/uploads/nosuchupload" })
        {
            using var anonymous = await origin.SendAsync(HttpMethod.Get, path, token: null);
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.Equal("Bearer", anonymous.Headers.WwwAuthenticate.Single().Scheme);
            Assert.Contains("bearer token", await ErrorAsync(anonymous), StringComparison.Ordinal);
            using var forged = await origin.SendAsync(HttpMethod.Get, path, token: "not-a-token");
            Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        }

        // Another user: someone else's title and upload are answered exactly like ones that do not exist.
        Assert.Equal([bobTitle], await ListAsync(origin, bob));
        Assert.Empty(await ListAsync(origin, carol));
        foreach (var token in new[] { bob, carol })
        {
            using var title = await origin.SendAsync(HttpMethod.Get, $"/api/titles/{aliceTitle}", token);
            Assert.Equal(HttpStatusCode.NotFound, title.StatusCode);
            Assert.Equal($"title {aliceTitle} does not exist", await ErrorAsync(title));
            using var upload = await origin.SendAsync(HttpMethod.Get, $"/api/uploads/{aliceUpload}", token);
            Assert.Equal(HttpStatusCode.NotFound, upload.StatusCode);
            using var missing = await origin.SendAsync(HttpMethod.Get, "/api/uploads/nosuchupload", token);
            Assert.Equal(await ErrorAsync(missing), await ErrorAsync(upload));
        }

        // The owner sees their own; an admin sees everyone's.
        Assert.Equal([aliceTitle], await ListAsync(origin, alice));
        Assert.Equal([bobTitle, aliceTitle], await ListAsync(origin, admin));
        var ownTitle = await GetJsonAsync(origin, $"/api/titles/{aliceTitle}", alice);
        Assert.Equal("rejected", ownTitle.GetProperty("state").GetString());
        Assert.Equal("alice-notes.mp4", ownTitle.GetProperty("metadata").GetProperty("filename").GetString());
        Assert.Equal("rejected", (await GetJsonAsync(origin, $"/api/titles/{bobTitle}", admin)).GetProperty("state").GetString());
        Assert.Equal(aliceTitle, (await GetJsonAsync(origin, $"/api/uploads/{aliceUpload}", admin)).GetProperty("titleId").GetString());

        // The reason says what is wrong, and no more: the media tool sandbox logs the path and the
        // tool's words and records neither, and the API cleans what it shows (PublicReason_KeepsTheSentence_AndDropsToolOutputAndPaths).
        var dataDirectory = Path.GetFullPath(origin.Role.Services.GetRequiredService<IOptions<OriginOptions>>().Value.DataDirectory);
        var recorded = origin.Role.Services.GetRequiredService<JobStore>().Get(aliceTitle)!.Reason!;
        Assert.DoesNotContain(dataDirectory, recorded, StringComparison.Ordinal);
        foreach (var reason in new[] { ownTitle.GetProperty("reason").GetString()!, aliceStatus.GetProperty("reason").GetString()! })
        {
            Assert.StartsWith("not a readable video file", reason, StringComparison.Ordinal);
            Assert.DoesNotContain("/", reason, StringComparison.Ordinal);
            Assert.DoesNotContain("Invalid data", reason, StringComparison.Ordinal);
            Assert.DoesNotContain("version", reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task WhileUploadsNeedNoToken_AnonymousUploadsAreVisibleAnonymously()
    {
        using var data = new TempDirectory("oc-visibility-open");
        await using var origin = await RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={data.Path}", "--Origin:Ingest:RequireToken=false");
        using var client = origin.CreateClient();
        var upload = await UploadTextAsync(client, token: null, "notes.mp4");
        var status = await WaitForRejectionAsync(client, upload, token: null);
        var titleId = status.GetProperty("titleId").GetString()!;
        var list = await client.GetFromJsonAsync<JsonElement>("/api/titles");
        Assert.Equal([titleId], list.GetProperty("titles").EnumerateArray().Select(t => t.GetProperty("id").GetString()));
        Assert.Equal("rejected", (await client.GetFromJsonAsync<JsonElement>($"/api/titles/{titleId}")).GetProperty("state").GetString());
    }

    [Fact]
    public async Task QoeSummary_ShowsNoSessionIds_ButKeepsEachSessionsBitrateApart()
    {
        using var data = new TempDirectory("oc-visibility-qoe");
        await using var origin = await RunningRole.StartAsync(OriginHost.Build, $"--Origin:DataDirectory={data.Path}");
        using var client = origin.CreateClient();
        string[] sessions = ["firstSession-7f3a", "secondSession-9c1d"];
        foreach (var session in sessions)
        {
            await BeaconAsync(client, $$"""{"kind":"start","session":"{{session}}","title":"t1","player":"hls","abr":"seed","site":"local","appliance":"oca-1","ttffMs":900}""");
            await BeaconAsync(client, $$"""{"kind":"progress","session":"{{session}}","title":"t1","player":"hls","abr":"seed","site":"local","appliance":"oca-1","playSeconds":4,"bitrateKbps":1200}""");
        }

        await BeaconAsync(client, $$"""{"kind":"progress","session":"{{sessions[0]}}","title":"t1","player":"hls","abr":"seed","playSeconds":4,"bitrateKbps":2400}""");

        var text = await client.GetStringAsync("/api/qoe/summary");
        foreach (var session in sessions)
        {
            Assert.DoesNotContain(session, text, StringComparison.Ordinal);
        }

        using var summary = JsonDocument.Parse(text);
        var starts = summary.RootElement.GetProperty("starts").EnumerateArray().ToArray();
        Assert.Equal(2, starts.Length);
        Assert.All(starts, s => Assert.False(s.TryGetProperty("session", out _)));
        Assert.All(starts, s => Assert.Equal("t1", s.GetProperty("title").GetString()));
        var bitrate = summary.RootElement.GetProperty("bitrate").EnumerateArray().Select(p => (p.GetProperty("series").GetInt32(), p.GetProperty("kbps").GetDouble())).ToArray();
        Assert.Equal([(0, 1200.0), (1, 1200.0), (0, 2400.0)], bitrate);
    }

    [Theory]
    [InlineData("not a readable video file: ffprobe could not parse it (ffprobe exited with non-zero exit-code (1 - /srv/oc/origin/uploads/3f2a: Invalid data found when processing input))", "not a readable video file: ffprobe could not parse it")]
    [InlineData("container 'png_pipe' is not accepted: upload MP4, MOV or MKV", "container 'png_pipe' is not accepted: upload MP4, MOV or MKV")]
    [InlineData("the video stream's codec ('none', tag 'V_XYZ/NOCODEC1X') is unknown to ffmpeg and cannot be decoded", "the video stream's codec ('none', tag 'V_XYZ/NOCODEC1X') is unknown to ffmpeg and cannot be decoded")]
    [InlineData("the h264 video stream cannot be decoded: [h264 @ 0x55d0] no frame! | Error while decoding stream #0:0", "the h264 video stream cannot be decoded")]
    [InlineData("step encode/0 failed after 3 attempts: ffmpeg failed: ffmpeg version 7.1 Copyright (c) 2000-2024 | /srv/oc/origin/work/abc/r0.mp4: No space left on device", "step encode/0 failed after 3 attempts: ffmpeg failed")]
    [InlineData("internal error: Could not find file '/srv/oc/origin/work/abc/source.mp4'.", "internal error")]
    [InlineData("submission failed: database is locked", "submission failed")]
    [InlineData("could not move /srv/oc/origin/uploads/abc into place", "could not move (path) into place")]
    [InlineData("could not open C:\\oc\\origin\\uploads\\abc", "could not open (path)")]
    [InlineData("first line\nffmpeg version 7.1 built with gcc", "first line")]
    [InlineData("", "")]
    [InlineData(null, null)]
    public void PublicReason_KeepsTheSentence_AndDropsToolOutputAndPaths(string? recorded, string? shown)
    {
        Assert.Equal(shown, PublicReason.Of(recorded));
    }

    [Fact]
    public void PublicReason_IsBounded()
    {
        var shown = PublicReason.Of(new string('x', 5000))!;
        Assert.Equal(PublicReason.MaxLength + 1, shown.Length);
    }

    private static async Task<string> UploadTextAsync(HttpClient client, string? token, string filename)
    {
        var body = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("this is a text file, not a video\n", 100)));
        using var create = Ingest.Ingest.Tus(HttpMethod.Post, "/files/");
        create.Headers.Add("Upload-Length", body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        create.Headers.Add("Upload-Metadata", $"filename {Convert.ToBase64String(Encoding.UTF8.GetBytes(filename))}");
        Authorize(create, token);
        using var created = await client.SendAsync(create);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var location = created.Headers.Location!.OriginalString;
        using var patched = await Ingest.Ingest.PatchAsync(client, location, 0, body, r => Authorize(r, token));
        Assert.Equal(HttpStatusCode.NoContent, patched.StatusCode);
        return location[(location.LastIndexOf('/') + 1)..];
    }

    private static async Task<JsonElement> WaitForRejectionAsync(HttpClient client, string uploadId, string? token)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/uploads/{uploadId}");
            Authorize(request, token);
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var status = await response.Content.ReadFromJsonAsync<JsonElement>();
            var state = status.GetProperty("state").GetString();
            if (state == "rejected")
            {
                return status;
            }

            Assert.True(DateTime.UtcNow < deadline, $"upload {uploadId} is still {state}");
            await Task.Delay(100);
        }
    }

    private static void Authorize(HttpRequestMessage request, string? token)
    {
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    private static async Task<string[]> ListAsync(CatalogOrigin origin, string token) =>
        (await GetJsonAsync(origin, "/api/titles", token)).GetProperty("titles").EnumerateArray().Select(t => t.GetProperty("id").GetString()!).ToArray();

    private static async Task<JsonElement> GetJsonAsync(CatalogOrigin origin, string path, string token)
    {
        using var response = await origin.SendAsync(HttpMethod.Get, path, token);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: HTTP {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task<string> ErrorAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString()!;

    private static async Task<string> LoginAsync(CatalogOrigin origin, string name)
    {
        using var login = await origin.Client.PostAsJsonAsync("/api/v1/auth/login", new { name, password = Password });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        return (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
    }

    private static async Task BeaconAsync(HttpClient client, string body)
    {
        using var response = await client.PostAsync("/api/qoe", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }
}
