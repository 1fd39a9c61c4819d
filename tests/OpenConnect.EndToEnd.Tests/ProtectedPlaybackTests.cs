using System.Buffers.Text;
using System.Net;
using System.Text;
using System.Text.Json;
using OpenConnect.Contracts.Security;
using OpenConnect.Origin.Pipeline;
using OpenConnect.Origin.Protection;
using OpenConnect.Testing;

namespace OpenConnect.EndToEnd.Tests;

/// <summary>
/// A protected title (uploaded with <c>protected=true</c>, packaged by the real pipeline as
/// cenc-encrypted CMAF) plays in headless Chromium through steering and an appliance with hls.js,
/// dash.js and Shaka using EME ClearKey, the key coming from the origin's licence endpoint; the
/// segments the appliance serves hold no clear media.
/// </summary>
public sealed class ProtectedPlaybackTests(ProtectedPlaybackTests.ProtectedStack stack) : IClassFixture<ProtectedPlaybackTests.ProtectedStack>
{
    [Theory]
    [InlineData("hls", "play")]
    [InlineData("dash", "play")]
    [InlineData("shaka", "play")]
    [InlineData("dash", "manifest")]
    [InlineData("shaka", "manifest")]
    public async Task ProtectedTitle_PlaysThroughAnAppliance_WithTheLicenceFromTheOrigin(string player, string licenseFrom)
    {
        var s = await stack.ReadyAsync();
        var playUrl = new Uri(s.Stack.SteeringUrl, $"/play/{s.TitleId}");
        await using var browser = PlayerScript.Start("play-protected.js", ["--player", player, "--play-url", playUrl.ToString(), "--license", licenseFrom, "--play-seconds", "3", "--timeout-seconds", "90"]);
        var result = await browser.ReadAsync("RESULT", TimeSpan.FromSeconds(120));

        Assert.True(result.GetProperty("ok").GetBoolean(), $"protected playback failed: {result}\n{browser.Transcript}");
        Assert.Equal(JsonValueKind.Null, result.GetProperty("fatal").ValueKind);
        Assert.True(result.GetProperty("currentTime").GetDouble() >= 3, result.ToString());

        // The licence came from the origin's endpoint, with this play's token.
        var origin = s.Stack.Origin.BaseAddress;
        var licenses = result.GetProperty("licenses").EnumerateArray().ToList();
        Assert.NotEmpty(licenses);
        Assert.Contains(licenses, l => l.GetProperty("status").GetInt32() == 200 && l.GetProperty("method").GetString() == "POST");
        Assert.All(licenses, l => Assert.Matches($"^{origin.Scheme}://{origin.Host}:{origin.Port}/license/s/[A-Za-z0-9_.-]+/v/{s.TitleId}/clearkey$", l.GetProperty("url").GetString()));

        // Media came from the appliance.
        var appliance = s.Stack.Appliances[0];
        var segments = result.GetProperty("segments").EnumerateArray().Where(x => x.GetProperty("path").GetString()!.EndsWith(".m4s", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(segments);
        Assert.Contains(segments, x => x.GetProperty("host").GetString() == appliance.HostAndPort && x.GetProperty("status").GetInt32() == 200);
    }

    [Fact]
    public async Task PlayAnswer_NamesTheLicenceUrl_AndTheSteeredMpdCarriesIt()
    {
        var s = await stack.ReadyAsync();
        using var client = s.Stack.Steering.CreateClient();
        using var play = JsonDocument.Parse(await client.GetStringAsync($"/play/{s.TitleId}"));
        var licenseUrl = play.RootElement.GetProperty("drm").GetProperty("org.w3.clearkey").GetProperty("licenseUrl").GetString()!;
        var origin = s.Stack.Origin.BaseAddress.ToString().TrimEnd('/');
        Assert.StartsWith($"{origin}/license/s/", licenseUrl, StringComparison.Ordinal);
        Assert.EndsWith($"/v/{s.TitleId}/clearkey", licenseUrl, StringComparison.Ordinal);

        // The same token as the pathways' signed URLs.
        var token = licenseUrl[$"{origin}/license/s/".Length..licenseUrl.IndexOf("/v/", StringComparison.Ordinal)];
        Assert.All(play.RootElement.GetProperty("dash").GetProperty("pathways").EnumerateArray(), p => Assert.Contains($"/s/{token}/v/", p.GetProperty("url").GetString(), StringComparison.Ordinal));

        var mpd = await client.GetStringAsync(play.RootElement.GetProperty("dash").GetProperty("url").GetString());
        Assert.Contains("<dashif:Laurl>" + origin + "/license/s/", mpd, StringComparison.Ordinal);
        Assert.Contains("cenc:default_KID=\"" + s.Key.KeyIdUuid + "\"", mpd, StringComparison.Ordinal);

        // A clear title gets no drm.
        using var clear = JsonDocument.Parse(await client.GetStringAsync($"/play/{s.ClearTitleId}"));
        Assert.Equal(JsonValueKind.Null, clear.RootElement.GetProperty("drm").ValueKind);
    }

    [Fact]
    public async Task SegmentsTheApplianceServes_DecodeOnlyWithTheTitleKey()
    {
        var s = await stack.ReadyAsync();
        using var steering = s.Stack.Steering.CreateClient();
        using var play = JsonDocument.Parse(await steering.GetStringAsync($"/play/{s.TitleId}"));
        var appliance = s.Stack.Appliances[0];
        var pathway = play.RootElement.GetProperty("dash").GetProperty("pathways").EnumerateArray()
            .Single(p => p.GetProperty("applianceId").GetString() == appliance.Id);
        var titleBase = pathway.GetProperty("url").GetString()!.Replace("manifest.mpd", "", StringComparison.Ordinal);

        using var http = new HttpClient();
        using var directory = new TempDirectory("openconnect-protected");
        foreach (var rendition in new[] { "144p", "audio" })
        {
            var init = await http.GetByteArrayAsync(titleBase + rendition + "/init.mp4");
            var segment = await http.GetByteArrayAsync(titleBase + rendition + "/seg-00002.m4s");
            var file = directory.Combine(rendition + ".mp4");
            await File.WriteAllBytesAsync(file, [.. init, .. segment]);

            var withKey = await DecodeAsync(file, Convert.ToHexStringLower(s.Key.Key));
            Assert.True(withKey.ExitCode == 0 && withKey.StandardError.Length == 0, $"{rendition} with the key: {withKey.StandardError}");
            Assert.Contains(withKey.StandardOutput.Split('\n'), l => l.Length > 0 && l[0] != '#');
            var withoutKey = await DecodeAsync(file, null);
            Assert.True(withoutKey.ExitCode != 0 || withoutKey.StandardError.Length > 0, $"{rendition} segment from the appliance decoded cleanly without the key");
            Assert.NotEqual(withKey.StandardOutput, withoutKey.StandardOutput);
        }

        Assert.True(await appliance.ContentRequestsAsync() > 0, "the appliance served no content");
    }

    private static Task<ExternalProcess.Result> DecodeAsync(string file, string? key) =>
        ExternalProcess.RunAsync("ffmpeg", [.. key is null ? [] : new[] { "-decryption_key", key }, "-v", "error", "-i", file, "-f", "framemd5", "-"], TimeSpan.FromMinutes(1));

    /// <summary>The stack once for the class: origin (real pipeline and key store), steering, one appliance, a protected and a clear title.</summary>
    public sealed class ProtectedStack : IAsyncLifetime
    {
        private readonly Lazy<Task<Ready>> _ready;

        public ProtectedStack() => _ready = new Lazy<Task<Ready>>(StartAsync);

        public sealed record Ready(SteeredStack Stack, string TitleId, string ClearTitleId, TitleKey Key);

        public Task<Ready> ReadyAsync() => _ready.Value;

        private static async Task<Ready> StartAsync()
        {
            var stack = await SteeredStack.StartPipelineAsync(
                "openconnect-protected-stack",
                appliances: 1,
                "--Origin:Pipeline:MaxHeight=144",
                "--Origin:Pipeline:SegmentSeconds=2",
                "--Origin:Pipeline:ChunkSeconds=4");
            try
            {
                var source = await SampleMedia.GetAsync(SampleMedia.Mp4Low12s);
                var titleId = await PipelineTitles.PublishAsync(stack, source, new() { ["filename"] = "source.mp4", ["title"] = "protected true", [TitleRecord.ProtectedKey] = "true" });
                var clearTitleId = await PipelineTitles.PublishAsync(stack, source, new() { ["filename"] = "source.mp4", ["title"] = "protected false", [TitleRecord.ProtectedKey] = "false" });

                // The key id the published init segment carries (its tenc box), and the key the
                // origin's licence endpoint grants for it; the clear title has none to grant.
                var keyId = TencKeyId(await File.ReadAllBytesAsync(Path.Combine(stack.PublishedDirectory, titleId, "144p", "init.mp4")));
                Assert.True(keyId is not null, "the protected title's init segment has no tenc box");
                var (status, titleKey) = await LicenseAsync(stack, titleId, keyId);
                Assert.True(status == HttpStatusCode.OK && titleKey is not null, $"the protected title has no key: licence answered {(int)status}");
                Assert.Null(TencKeyId(await File.ReadAllBytesAsync(Path.Combine(stack.PublishedDirectory, clearTitleId, "144p", "init.mp4"))));
                var (clearStatus, _) = await LicenseAsync(stack, clearTitleId, keyId);
                Assert.True(clearStatus == HttpStatusCode.NotFound, $"the clear title got a key: licence answered {(int)clearStatus}");

                await stack.WaitForPathwaysAsync(titleId, pathways: 2);
                return new Ready(stack, titleId, clearTitleId, titleKey);
            }
            catch
            {
                await stack.DisposeAsync();
                throw;
            }
        }

        /// <summary>The default key id of an init segment's <c>tenc</c> box (CENC), or null when it has none.</summary>
        private static byte[]? TencKeyId(byte[] init)
        {
            var at = init.AsSpan().IndexOf("tenc"u8);
            // After the type: version and flags (4), reserved, pattern, default_isProtected, IV size (4), then the 16-byte KID.
            return at < 0 || at + 28 > init.Length ? null : init[(at + 12)..(at + 28)];
        }

        /// <summary>A ClearKey licence request for <paramref name="keyId"/> to the origin's endpoint, with a token steering's key signed for the title.</summary>
        private static async Task<(HttpStatusCode Status, TitleKey? Key)> LicenseAsync(SteeredStack stack, string titleId, byte[] keyId)
        {
            var token = UrlToken.Sign(stack.PlaybackKey, DateTimeOffset.UtcNow.AddMinutes(10), UrlToken.TitlePrefix(titleId));
            using var client = stack.Origin.CreateClient();
            using var response = await client.PostAsync(
                LicenseEndpoint.LicensePath(token, titleId),
                new StringContent($"{{\"kids\":[\"{Base64Url.EncodeToString(keyId)}\"],\"type\":\"temporary\"}}", Encoding.UTF8, "application/json"));
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return (response.StatusCode, null);
            }

            using var license = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var key = license.RootElement.GetProperty("keys").EnumerateArray().Single();
            return (response.StatusCode, new TitleKey(Base64Url.DecodeFromChars(key.GetProperty("kid").GetString()), Base64Url.DecodeFromChars(key.GetProperty("k").GetString())));
        }

        public Task InitializeAsync() => Task.CompletedTask;

        // xunit 2 disposes class fixtures through IAsyncLifetime or IDisposable only: an
        // IAsyncDisposable fixture was never disposed, and its appliance process outlived the run.
        public async Task DisposeAsync()
        {
            if (_ready.IsValueCreated && _ready.Value.IsCompletedSuccessfully)
            {
                var ready = await _ready.Value;
                await ready.Stack.DisposeAsync();
            }
        }
    }
}
