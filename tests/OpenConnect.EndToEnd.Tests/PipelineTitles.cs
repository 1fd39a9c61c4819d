using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace OpenConnect.EndToEnd.Tests;

/// <summary>
/// Publishes a source file through a running origin's upload endpoint (TUS, as the catalog's admin)
/// and its real pipeline, for the browser tests.
/// </summary>
internal static class PipelineTitles
{
    /// <summary>
    /// Uploads <paramref name="source"/> with <paramref name="metadata"/> (TUS <c>Upload-Metadata</c>)
    /// and waits (at most 4 minutes) until the title is published; returns its id.
    /// </summary>
    public static async Task<string> PublishAsync(SteeredStack stack, string source, Dictionary<string, string> metadata)
    {
        using var client = stack.Origin.CreateClient();
        using (var login = await client.PostAsJsonAsync("/api/v1/auth/login", new { name = "admin", password = SteeredStack.AdminPassword }))
        {
            Assert.True(login.StatusCode == HttpStatusCode.OK, $"admin login: {(int)login.StatusCode} {await login.Content.ReadAsStringAsync()}");
            using var body = JsonDocument.Parse(await login.Content.ReadAsStringAsync());
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", body.RootElement.GetProperty("token").GetString());
        }

        client.DefaultRequestHeaders.Add("Tus-Resumable", "1.0.0");
        var bytes = await File.ReadAllBytesAsync(source);
        using var create = new HttpRequestMessage(HttpMethod.Post, "/files/") { Content = new ByteArrayContent([]) };
        create.Headers.Add("Upload-Length", bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        create.Headers.Add("Upload-Metadata", string.Join(',', metadata.Select(m => m.Key + " " + Convert.ToBase64String(Encoding.UTF8.GetBytes(m.Value)))));
        using var created = await client.SendAsync(create);
        Assert.True(created.StatusCode == HttpStatusCode.Created, $"upload creation: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
        var upload = new Uri(client.BaseAddress!, created.Headers.Location!);

        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
        using var patch = new HttpRequestMessage(HttpMethod.Patch, upload) { Content = content };
        patch.Headers.Add("Upload-Offset", "0");
        using var patched = await client.SendAsync(patch);
        Assert.True(patched.StatusCode == HttpStatusCode.NoContent, $"upload PATCH: {(int)patched.StatusCode} {await patched.Content.ReadAsStringAsync()}");

        var uploadId = upload.Segments[^1];
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(4);
        string? titleId = null;
        while (true)
        {
            if (titleId is null)
            {
                using var status = JsonDocument.Parse(await client.GetStringAsync($"/api/uploads/{uploadId}"));
                Assert.True(status.RootElement.GetProperty("state").GetString() != "rejected", $"the origin rejected upload {uploadId}: {status.RootElement}");
                titleId = status.RootElement.GetProperty("titleId").GetString();
            }

            if (titleId is not null)
            {
                using var title = JsonDocument.Parse(await client.GetStringAsync($"/api/titles/{titleId}"));
                var state = title.RootElement.GetProperty("state").GetString();
                if (state == "published")
                {
                    return titleId;
                }

                Assert.True(state is "queued" or "processing", $"title {titleId} ended {state}: {title.RootElement}\norigin log:\n{stack.Origin.Tail()}");
                Assert.True(DateTime.UtcNow < deadline, $"title {titleId} not published within 4 minutes: {title.RootElement}\norigin log:\n{stack.Origin.Tail()}");
            }
            else
            {
                Assert.True(DateTime.UtcNow < deadline, $"upload {uploadId} made no title within 4 minutes");
            }

            await Task.Delay(250);
        }
    }
}
