using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OpenConnect.Contracts.Content;
using OpenConnect.Origin.Tests.Catalog;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.EndToEnd;

/// <summary>
/// The whole origin path with nothing substituted: an uploader's token, a TUS upload, the real
/// pipeline (ffprobe, ffmpeg), the catalog fed by the pipeline, search, and the parent endpoint
/// serving the signed package.
/// </summary>
public sealed class UploadToPublishTests
{
    private static string Metadata(params (string Key, string Value)[] pairs) =>
        string.Join(',', pairs.Select(p => $"{p.Key} {Convert.ToBase64String(Encoding.UTF8.GetBytes(p.Value))}"));

    private static HttpRequestMessage Create(string? token, long length, string metadata)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/files/");
        request.Headers.Add("Tus-Resumable", "1.0.0");
        request.Headers.Add("Upload-Length", length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add("Upload-Metadata", metadata);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }

    [Fact]
    public async Task UploaderUpload_IsTranscoded_Published_Searchable_AndServedOnTheirChannel()
    {
        await using var origin = await CatalogOrigin.StartAsync("--Origin:Pipeline:SegmentSeconds=2");
        var source = await File.ReadAllBytesAsync(await SampleMedia.GetAsync(SampleMedia.Mp4Small));
        var metadata = Metadata(("title", "Kestrel über alles"), ("description", "a test pattern"), ("tags", "pattern,demo"), ("filename", "clip.mp4"), ("uploader_id", "someone-else"));

        // No token, and a viewer's token, are refused before anything is stored.
        var anonymous = await origin.Client.SendAsync(Create(null, source.Length, metadata));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        var (viewerToken, _) = await origin.UserAsync("watcher");
        Assert.Equal(HttpStatusCode.Forbidden, (await origin.Client.SendAsync(Create(viewerToken, source.Length, metadata))).StatusCode);

        var (token, uploader) = await origin.UserAsync("studio", "uploader");
        var created = await origin.Client.SendAsync(Create(token, source.Length, metadata));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var location = created.Headers.Location!.ToString();

        using var patch = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new ByteArrayContent(source) };
        patch.Headers.Add("Tus-Resumable", "1.0.0");
        patch.Headers.Add("Upload-Offset", "0");
        patch.Content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
        Assert.Equal(HttpStatusCode.NoContent, (await origin.Client.SendAsync(patch)).StatusCode);

        using var head = new HttpRequestMessage(HttpMethod.Head, location);
        head.Headers.Add("Tus-Resumable", "1.0.0");
        var headResponse = await origin.Client.SendAsync(head);
        var titleId = headResponse.Headers.GetValues("Upload-Title-Id").Single();
        Assert.True(ContentKey.IsValidTitleId(titleId));

        // The catalog follows the pipeline until the title is published.
        JsonElement title = default;
        var deadline = DateTime.UtcNow.AddSeconds(180);
        while (DateTime.UtcNow < deadline)
        {
            var response = await origin.Client.GetAsync($"/api/v1/titles/{titleId}");
            if (response.StatusCode == HttpStatusCode.OK)
            {
                title = await response.Content.ReadFromJsonAsync<JsonElement>();
                var status = title.GetProperty("status").GetString();
                Assert.NotEqual("failed", status);
                Assert.NotEqual("rejected", status);
                if (status == "published")
                {
                    break;
                }
            }

            await Task.Delay(250);
        }

        Assert.Equal("published", title.GetProperty("status").GetString());
        Assert.Equal("Kestrel über alles", title.GetProperty("title").GetString());
        Assert.Equal(["pattern", "demo"], title.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(uploader.Id, title.GetProperty("uploaderId").GetString());
        Assert.Equal(uploader.ChannelId, title.GetProperty("channelId").GetString());
        Assert.Equal($"/v/{titleId}/master.m3u8", title.GetProperty("manifests").GetProperty("hls").GetString());
        Assert.InRange(title.GetProperty("durationSeconds").GetDouble(), 3.5, 4.5);
        Assert.NotEmpty(title.GetProperty("renditions").EnumerateArray());

        // Searchable (accent-insensitive), and the package is served as the appliances' parent.
        var search = await origin.Client.GetFromJsonAsync<JsonElement>("/api/v1/search?q=kestrel%20uber");
        Assert.Contains(search.GetProperty("items").EnumerateArray(), item => item.GetProperty("id").GetString() == titleId);
        var master = await origin.Client.GetStringAsync($"/v/{titleId}/master.m3u8");
        Assert.StartsWith("#EXTM3U", master);
        var manifest = IntegrityManifest.Parse(await origin.Client.GetByteArrayAsync($"/v/{titleId}/integrity.json"));
        Assert.Contains("master.m3u8", manifest.Files.Keys);
    }
}
