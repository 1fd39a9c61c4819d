using System.Net;
using System.Text.Json;
using OpenConnect.Testing;
using static OpenConnect.Origin.Tests.Ingest.Ingest;
using static OpenConnect.Origin.Tests.Ingest.Uploaders;

namespace OpenConnect.Origin.Tests.Ingest;

/// <summary>
/// Turn-taking end to end, with the real pipeline: titles of an uploader who queued first do not
/// all run before a second uploader's title.
/// </summary>
public sealed class BacklogFairnessTests
{
    [Fact]
    public async Task ASecondUploadersTitle_RunsAfterOneTitleOfTheFirst_NotAfterAllOfThem()
    {
        using var dir = new TempDirectory();
        await using var origin = await StartWithTokensAsync(dir.Path, null, null, "--Origin:Pipeline:MaxParallelEncodes=1", "--Origin:Pipeline:MaxHeight=360");
        using var client = origin.CreateClient();
        var (ann, _) = await UploaderAsync(client, "ann");
        var (bob, _) = await UploaderAsync(client, "bob");
        var large = await File.ReadAllBytesAsync(await SampleMedia.GetAsync(SampleMedia.MkvHd));
        var small = await File.ReadAllBytesAsync(await SampleMedia.GetAsync(SampleMedia.MovSmall));

        // Ann's first title keeps the worker busy (a 720p source) while her next two and then Bob's queue up.
        var a1 = await TitleOfAsync(client, ann, large);
        var a2 = await TitleOfAsync(client, ann, small);
        var a3 = await TitleOfAsync(client, ann, small);
        var b1 = await TitleOfAsync(client, bob, small);
        Assert.Contains(await StateAsync(client, a1, ann), new[] { "queued", "processing" });

        var published = new Dictionary<string, DateTimeOffset>();
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (published.Count < 4 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
            foreach (var (id, owner) in new[] { (a1, ann), (a2, ann), (a3, ann), (b1, bob) })
            {
                var title = await GetJsonAsync(client, $"/api/titles/{id}", owner);
                Assert.NotEqual("failed", title.GetProperty("state").GetString());
                if (title.GetProperty("publishedAt").ValueKind == JsonValueKind.String)
                {
                    published[id] = title.GetProperty("publishedAt").GetDateTimeOffset();
                }
            }
        }

        Assert.Equal(4, published.Count);
        Assert.Equal([a1, b1, a2, a3], published.OrderBy(p => p.Value).Select(p => p.Key));
    }

    private static async Task<string> TitleOfAsync(HttpClient client, string token, byte[] source)
    {
        var url = await CreateAsync(client, token, source.Length);
        using var patch = await PatchAsync(client, url, 0, source);
        Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        Assert.Equal("queued", Header(patch, "Upload-State"));
        return Header(patch, "Upload-Title-Id");
    }

    private static async Task<string> StateAsync(HttpClient client, string titleId, string token) =>
        (await GetJsonAsync(client, $"/api/titles/{titleId}", token)).GetProperty("state").GetString()!;
}
