using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OpenConnect.Testing;

namespace OpenConnect.EndToEnd.Tests;

/// <summary>
/// The web app in headless Chromium against the real stack (<see cref="SteeredStack.StartWebAsync"/>), driven by
/// <c>tests/node/web-e2e.js</c>: upload through the page with a reload half-way and a dropped network
/// later, both resumed, a file that is not a video refused with its reason, the
/// subscriber's bell, playback through steering from an appliance, like and comment, and the QoE
/// beacon. Screenshots of the home, upload and watch pages are written to
/// <c>artifacts/screenshots/</c> at the repository root.
/// </summary>
public sealed class WebAppTests
{
    public static string ScreenshotDirectory => Path.Combine(SteeredStack.RepositoryRoot, "artifacts", "screenshots");

    [Fact]
    public async Task UploadWatchLikeCommentNotify_ThroughTheWebApp()
    {
        var file = await MakeUploadFileAsync();
        await using var stack = await SteeredStack.StartWebAsync();
        var invite = await InviteAsync(stack);
        await using var browser = PlayerScript.Start("web-e2e.js", ["--origin", stack.Origin.BaseAddress.ToString(), "--file", file, "--screenshots", ScreenshotDirectory, "--invite", invite, "--timeout-seconds", "300"]);
        var result = await browser.ReadAsync("RESULT", TimeSpan.FromMinutes(6));
        Assert.True(result.GetProperty("ok").GetBoolean(), $"the browser run failed: {browser.Transcript}");

        // The reload happened mid-upload and the same upload carried on from where its bytes stopped.
        var before = result.GetProperty("uploadUrlBefore").GetString();
        Assert.False(string.IsNullOrEmpty(before), result.ToString());
        Assert.InRange(result.GetProperty("progressAtReload").GetDouble(), 30, 99.9);
        Assert.Equal(before, result.GetProperty("resumedFrom").GetString());
        Assert.Equal(0, result.GetProperty("postsAfterReload").GetInt32());
        Assert.Equal([before], result.GetProperty("patchUrlsAfterReload").EnumerateArray().Select(u => u.GetString()));
        Assert.True(result.GetProperty("firstOffsetAfterReload").GetInt64() > 0, $"the first PATCH after the reload started at offset 0: {result}");

        // The network dropped for two seconds later in the upload: the page saw it and carried on.
        Assert.True(result.GetProperty("offlineSeen").GetBoolean(), $"the page never noticed the dropped network: {result}");
        Assert.True(result.GetProperty("patchesAfterDrop").GetInt32() > 0, $"no PATCH after the network came back: {result}");

        // A file that is not a video is refused, and the page shows the origin's reason.
        var reason = result.GetProperty("rejectedReason").GetString();
        Assert.False(string.IsNullOrEmpty(reason), result.ToString());
        Assert.Equal("The file was rejected: " + reason, result.GetProperty("rejectedText").GetString());

        // The subscriber's bell got the new upload within a second of its publication.
        var latency = result.GetProperty("notificationReceivedAt").GetInt64() - result.GetProperty("publishedAt").GetInt64();
        Assert.True(latency is >= -50 and < 1000, $"notification arrived {latency} ms after publication");
        Assert.True(result.GetProperty("bellCount").GetInt32() >= 1);

        // Played through steering from an appliance.
        var titleId = result.GetProperty("titleId").GetString()!;
        var host = result.GetProperty("segmentHost").GetString();
        var appliance = stack.Appliances.SingleOrDefault(a => a.HostAndPort == host);
        Assert.True(appliance is not null, $"segments came from {host}, not from an appliance: {result}");
        Assert.Equal(appliance.Id, result.GetProperty("appliance").GetString());
        Assert.Equal("local", result.GetProperty("site").GetString());
        Assert.True(await appliance.ContentRequestsAsync() > 0);

        // Like and threaded comment are in the catalog.
        using var origin = stack.Origin.CreateClient();
        using var title = JsonDocument.Parse(await origin.GetStringAsync($"/api/v1/titles/{titleId}"));
        Assert.Equal(1, title.RootElement.GetProperty("likes").GetInt64());
        Assert.Equal(result.GetProperty("channelId").GetString(), title.RootElement.GetProperty("channelId").GetString());
        using var comments = JsonDocument.Parse(await origin.GetStringAsync($"/api/v1/titles/{titleId}/comments"));
        var top = comments.RootElement.GetProperty("items").EnumerateArray().Single();
        Assert.Equal("First comment from the browser test", top.GetProperty("body").GetString());
        Assert.Equal(1, top.GetProperty("replies").GetInt64());
        using var replies = JsonDocument.Parse(await origin.GetStringAsync($"/api/v1/titles/{titleId}/comments?parent={top.GetProperty("id").GetInt64()}"));
        Assert.Equal("A reply in the thread", replies.RootElement.GetProperty("items").EnumerateArray().Single().GetProperty("body").GetString());

        // The play's QoE beacon arrived with a sane time to first frame, tagged with site and appliance.
        // The summary shows no session ids (the only start of this title is the uploader's play).
        var session = result.GetProperty("qoeSession").GetString()!;
        var qoeText = await origin.GetStringAsync("/api/qoe/summary");
        Assert.DoesNotContain(session, qoeText, StringComparison.Ordinal);
        using var qoe = JsonDocument.Parse(qoeText);
        var start = qoe.RootElement.GetProperty("starts").EnumerateArray().FirstOrDefault(s => s.GetProperty("title").GetString() == titleId);
        Assert.True(start.ValueKind == JsonValueKind.Object, $"no start beacon of title {titleId}: {qoe.RootElement}");
        Assert.InRange(start.GetProperty("ttffMs").GetDouble(), 1, 30_000);
        Assert.Equal(titleId, start.GetProperty("title").GetString());
        Assert.Equal("local", start.GetProperty("site").GetString());
        using var originManagement = stack.Origin.CreateManagementClient();
        var metrics = PrometheusText.Parse(await originManagement.GetStringAsync("/metrics"));
        Assert.True(metrics.IsValid, string.Join('\n', metrics.Errors));
        Assert.True(metrics.Value("openconnect_qoe_ttff_seconds_count", ("player", "hls"), ("site", "local")) >= 1);
        Assert.True(metrics.Value("openconnect_qoe_play_seconds_total", ("site", "local"), ("appliance", appliance.Id)) > 0, "no play time was reported for the appliance (end beacon)");

        foreach (var name in new[] { "home.png", "upload.png", "watch.png", "watch-phone.png" })
        {
            var path = Path.Combine(ScreenshotDirectory, name);
            Assert.True(File.Exists(path) && new FileInfo(path).Length > 10_000, $"screenshot {path} is missing or empty");
        }
    }

    /// <summary>An invite code from the stack's admin: the page registers the uploader with it.</summary>
    private static async Task<string> InviteAsync(SteeredStack stack)
    {
        using var client = stack.Origin.CreateClient();
        using var login = await client.PostAsJsonAsync("/api/v1/auth/login", new { name = "admin", password = SteeredStack.AdminPassword });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        using var token = JsonDocument.Parse(await login.Content.ReadAsStringAsync());
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/invites") { Content = JsonContent.Create(new { }) };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token.RootElement.GetProperty("token").GetString());
        using var created = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var invite = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        return invite.RootElement.GetProperty("code").GetString()!;
    }

    [Fact]
    public async Task Pages_AreServedWithCacheHeaders_AndAMissingBuildIsAClearError()
    {
        await using var stack = await SteeredStack.StartWebAsync();
        using var client = stack.Origin.CreateClient();
        foreach (var page in new[] { "/", "/watch/abc", "/upload", "/search?q=x", "/app/channel/c1" })
        {
            using var response = await client.GetAsync(page);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
        }

        var index = await client.GetStringAsync("/");
        var script = System.Text.RegularExpressions.Regex.Match(index, "/app/assets/app-[A-Z0-9]+\\.js").Value;
        Assert.NotEmpty(script);
        using (var asset = await client.GetAsync(script))
        {
            Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
            Assert.Equal("text/javascript", asset.Content.Headers.ContentType?.MediaType);
            Assert.Contains("immutable", asset.Headers.CacheControl?.ToString());
        }

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/app/assets/nothing-here.js")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/app/..%2F..%2Fetc/passwd.txt")).StatusCode);
        using var config = JsonDocument.Parse(await client.GetStringAsync("/app/config.json"));
        Assert.Equal(stack.Steering.BaseAddress.ToString().TrimEnd('/'), config.RootElement.GetProperty("steeringUrl").GetString());
        Assert.Equal([stack.Steering.BaseAddress.ToString().TrimEnd('/')], config.RootElement.GetProperty("steeringUrls").EnumerateArray().Select(e => e.GetString()));

        using var state = new TempDirectory("openconnect-noweb");
        await using var bare = await RunningRole.StartAsync(OpenConnect.Origin.OriginHost.Build, $"--Origin:DataDirectory={state.Combine("origin")}", $"--Origin:Web:Directory={state.Combine("no-build")}");
        using var bareClient = bare.CreateClient();
        using var missing = await bareClient.GetAsync("/");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, missing.StatusCode);
        Assert.Contains("npm run build", await missing.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("not json", HttpStatusCode.BadRequest)]
    [InlineData("{\"kind\":\"start\",\"session\":\"abcdefgh12\",\"title\":\"t1\",\"player\":\"hls\",\"abr\":\"seed\"}", HttpStatusCode.BadRequest)]
    [InlineData("{\"kind\":\"start\",\"session\":\"abcdefgh12\",\"title\":\"t1\",\"player\":\"vlc\",\"abr\":\"seed\",\"ttffMs\":900}", HttpStatusCode.BadRequest)]
    [InlineData("{\"kind\":\"progress\",\"session\":\"abcdefgh12\",\"title\":\"t1\",\"player\":\"hls\",\"abr\":\"seed\",\"playSeconds\":-1}", HttpStatusCode.BadRequest)]
    [InlineData("{\"kind\":\"start\",\"session\":\"abcdefgh12\",\"title\":\"t1\",\"player\":\"hls\",\"abr\":\"seed\",\"ttffMs\":900,\"extra\":1}", HttpStatusCode.BadRequest)]
    [InlineData("{\"kind\":\"start\",\"session\":\"abcdefgh12\",\"title\":\"t1\",\"player\":\"hls\",\"abr\":\"seed\",\"site\":\"a b\",\"ttffMs\":900}", HttpStatusCode.BadRequest)]
    [InlineData("{\"kind\":\"start\",\"session\":\"abcdefgh12\",\"title\":\"t1\",\"player\":\"hls\",\"abr\":\"seed\",\"site\":\"local\",\"appliance\":\"oca-1\",\"ttffMs\":900}", HttpStatusCode.NoContent)]
    public async Task QoeBeacon_IsValidated(string body, HttpStatusCode expected)
    {
        using var state = new TempDirectory("openconnect-qoe");
        await using var origin = await RunningRole.StartAsync(OpenConnect.Origin.OriginHost.Build, $"--Origin:DataDirectory={state.Combine("origin")}");
        using var client = origin.CreateClient();
        using var response = await client.PostAsync("/api/qoe", new StringContent(body, System.Text.Encoding.UTF8, "text/plain"));
        Assert.Equal(expected, response.StatusCode);
        using var management = origin.CreateManagementClient();
        var metrics = PrometheusText.Parse(await management.GetStringAsync("/metrics"));
        Assert.Equal(1, metrics.Value("openconnect_qoe_beacons_total", ("outcome", expected == HttpStatusCode.NoContent ? "accepted" : "rejected")));
        if (expected == HttpStatusCode.NoContent)
        {
            Assert.Equal(1, metrics.Value("openconnect_qoe_ttff_seconds_count", ("player", "hls"), ("site", "local")));
            Assert.Equal(1, metrics.Value("openconnect_qoe_plays_total", ("player", "hls"), ("site", "local"), ("appliance", "oca-1")));
        }
    }

    [Fact]
    public async Task QoeBeacon_OverTheSizeLimit_Is413_AndLabelsStayBounded()
    {
        using var state = new TempDirectory("openconnect-qoe");
        await using var origin = await RunningRole.StartAsync(OpenConnect.Origin.OriginHost.Build, $"--Origin:DataDirectory={state.Combine("origin")}", "--Origin:Web:MaxLabelValues=2");
        using var client = origin.CreateClient();
        using (var big = await client.PostAsync("/api/qoe", new StringContent(new string(' ', 5000) + "{}", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, big.StatusCode);
        }

        foreach (var site in new[] { "s1", "s2", "s3", "s4" })
        {
            var body = $"{{\"kind\":\"start\",\"session\":\"abcdefgh12\",\"title\":\"t1\",\"player\":\"dash\",\"abr\":\"builtin\",\"site\":\"{site}\",\"ttffMs\":1200}}";
            using var response = await client.PostAsync("/api/qoe", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }

        using var management = origin.CreateManagementClient();
        var metrics = PrometheusText.Parse(await management.GetStringAsync("/metrics"));
        Assert.Equal(1, metrics.Value("openconnect_qoe_ttff_seconds_count", ("player", "dash"), ("site", "s1")));
        Assert.Equal(1, metrics.Value("openconnect_qoe_ttff_seconds_count", ("player", "dash"), ("site", "s2")));
        Assert.Equal(2, metrics.Value("openconnect_qoe_ttff_seconds_count", ("player", "dash"), ("site", "other")));
        Assert.Null(metrics.Value("openconnect_qoe_ttff_seconds_count", ("player", "dash"), ("site", "s3")));
    }

    /// <summary>A 12 s 360p H.264/AAC file of about 4.5 MB (constant bitrate), so the page's 1 MiB chunks make several PATCHes.</summary>
    private static async Task<string> MakeUploadFileAsync()
    {
        var path = Path.Combine(Path.GetTempPath(), "openconnect-web-upload-12s.mp4");
        if (File.Exists(path) && new FileInfo(path).Length > 3_000_000)
        {
            return path;
        }

        var partial = path + $".{Environment.ProcessId}.tmp.mp4";
        var run = await ExternalProcess.RunAsync(
            "ffmpeg",
            ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
             "-t", "12", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-b:v", "3M", "-minrate", "3M", "-maxrate", "3M", "-bufsize", "1M", "-x264-params", "nal-hrd=cbr",
             "-c:a", "aac", "-shortest", partial],
            TimeSpan.FromMinutes(2));
        Assert.True(run.ExitCode == 0, run.StandardError);
        File.Move(partial, path, overwrite: true);
        return path;
    }
}
