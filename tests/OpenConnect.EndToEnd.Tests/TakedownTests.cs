using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using OpenConnect.Testing;

namespace OpenConnect.EndToEnd.Tests;

/// <summary>
/// A title deleted by the admin at the origin, followed across a running stack (origin with the real
/// pipeline reporting takedowns to steering's control listener, steering, one appliance): steering
/// answers 410 on every play endpoint, the appliance that served the title answers 410 within a few
/// heartbeats, the origin answers 410 and its files are gone, and the catalog and search no longer
/// list it.
/// </summary>
public sealed class TakedownTests
{
    [Fact]
    public async Task A_deleted_title_is_gone_at_steering_the_appliance_the_origin_and_the_catalog()
    {
        await using var stack = await SteeredStack.StartPipelineAsync("openconnect-takedown", appliances: 1, layout =>
        [
            "--Origin:Pipeline:MaxHeight=144",
            "--Origin:Pipeline:SegmentSeconds=2",
            "--Origin:Pipeline:ChunkSeconds=4",
        ]);
        var source = await SampleMedia.GetAsync(SampleMedia.Mp4Low12s);
        var titleId = await PipelineTitles.PublishAsync(stack, source, new() { ["filename"] = "source.mp4", ["title"] = "takedown subject" });
        await stack.WaitForPathwaysAsync(titleId, 2);

        using var steering = stack.Steering.CreateClient();
        using var origin = stack.Origin.CreateClient();
        using var player = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        // The appliance serves (and so caches) the title's playlists before the delete.
        using var play = JsonDocument.Parse(await steering.GetStringAsync($"/play/{titleId}"));
        var applianceUrl = play.RootElement.GetProperty("hls").GetProperty("pathways").EnumerateArray()
            .Single(p => p.GetProperty("id").GetString() != "origin").GetProperty("url").GetString()!;
        var master = await player.GetStringAsync(applianceUrl);
        var variant = master.Split('\n').First(line => line.Length > 0 && !line.StartsWith('#')).Trim();
        var variantUrl = new Uri(new Uri(applianceUrl), variant).ToString();
        using (var warm = await player.GetAsync(variantUrl))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        }

        Assert.Contains(await ListedIdsAsync(origin, "/api/v1/titles"), id => id == titleId);

        origin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await AdminTokenAsync(origin));
        using (var deleted = await origin.DeleteAsync($"/api/v1/titles/{titleId}"))
        {
            var body = await deleted.Content.ReadAsStringAsync();
            Assert.True(deleted.StatusCode == HttpStatusCode.OK, $"DELETE: {(int)deleted.StatusCode} {body}");
            using var answer = JsonDocument.Parse(body);
            Assert.Equal("deleted", answer.RootElement.GetProperty("reason").GetString());
            Assert.True(answer.RootElement.GetProperty("filesDeleted").GetBoolean());
        }

        // The origin: 410 for the title's files, nothing left in its store.
        using (var parent = await origin.GetAsync($"/v/{titleId}/master.m3u8"))
        {
            Assert.Equal(HttpStatusCode.Gone, parent.StatusCode);
        }

        Assert.False(Directory.Exists(Path.Combine(stack.PublishedDirectory, titleId)));

        // Steering: every player endpoint answers 410 as soon as the origin's report arrived.
        await EventuallyGoneAsync(steering, $"/play/{titleId}", TimeSpan.FromSeconds(15), stack);
        foreach (var path in new[] { $"/play/{titleId}/master.m3u8", $"/play/{titleId}/manifest.mpd", $"/steering/hls/{titleId}", $"/steering/dash/{titleId}" })
        {
            using var response = await steering.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.Gone, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            Assert.Contains("taken down", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // The appliance: the playlists it held answer 410 within a few heartbeats (1 s each).
        await EventuallyGoneAsync(player, applianceUrl, TimeSpan.FromSeconds(15), stack);
        using (var again = await player.GetAsync(variantUrl))
        {
            Assert.Equal(HttpStatusCode.Gone, again.StatusCode);
        }

        // The catalog: not listed, not found by search, 410 on read.
        Assert.DoesNotContain(await ListedIdsAsync(origin, "/api/v1/titles"), id => id == titleId);
        Assert.DoesNotContain(await ListedIdsAsync(origin, "/api/v1/search?q=takedown"), id => id == titleId);
        using (var read = await origin.GetAsync($"/api/v1/titles/{titleId}"))
        {
            Assert.Equal(HttpStatusCode.Gone, read.StatusCode);
        }
    }

    private static async Task<string> AdminTokenAsync(HttpClient origin)
    {
        using var login = await origin.PostAsJsonAsync("/api/v1/auth/login", new { name = "admin", password = SteeredStack.AdminPassword });
        login.EnsureSuccessStatusCode();
        using var body = JsonDocument.Parse(await login.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("token").GetString()!;
    }

    /// <summary>The ids in a catalog page (<c>items[].id</c>).</summary>
    private static async Task<List<string>> ListedIdsAsync(HttpClient origin, string path)
    {
        using var page = JsonDocument.Parse(await origin.GetStringAsync(path));
        return [.. page.RootElement.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("id").GetString()!)];
    }

    private static async Task EventuallyGoneAsync(HttpClient client, string url, TimeSpan within, SteeredStack stack)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            using var response = await client.GetAsync(url);
            if (response.StatusCode == HttpStatusCode.Gone)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{url} still answers {(int)response.StatusCode} after {within.TotalSeconds} s\nsteering log:\n{stack.Steering.Tail()}\norigin log:\n{stack.Origin.Tail()}");
            await Task.Delay(200);
        }
    }
}
