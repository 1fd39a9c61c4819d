using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Origin.Catalog.Titles;
using PipelineTitles = OpenConnect.Origin.Pipeline.Jobs.JobStore;

namespace OpenConnect.Origin.Tests.Catalog;

/// <summary>
/// NUL characters and unpaired UTF-16 surrogates in user text: a clear 400 at the API on both
/// engines (PostgreSQL cannot store them), and stripped from upload metadata on its way to the catalog.
/// </summary>
public abstract class UserTextTests
{
    protected abstract CatalogEngine Engine { get; }

    [Theory]
    [InlineData("""{"body":"before\u0000after"}""", "field 'body' contains a NUL character")]
    [InlineData("""{"body":"lone \ud800 surrogate"}""", "field 'body' is not valid Unicode text")]
    [InlineData("""{"body":"lone \udc00 low"}""", "field 'body' is not valid Unicode text")]
    public async Task AComment_WithNulOrALoneSurrogate_IsA400NamingTheField(string json, string problem)
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        await origin.PublishAsync("texts", "Text rules");
        var (viewer, _) = await origin.UserAsync("writer");

        using var refused = await PostJsonAsync(origin, "/api/v1/titles/texts/comments", viewer, json);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains(problem, await CatalogOrigin.ErrorOf(refused), StringComparison.Ordinal);

        // A paired surrogate (an emoji) is text like any other.
        using var accepted = await PostJsonAsync(origin, "/api/v1/titles/texts/comments", viewer, """{"body":"fine \ud83c\udf0a"}""");
        Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);
    }

    [Fact]
    public async Task TitleEdits_AndChannelNames_WithNul_AreRefused_AndNothingIsStored()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        var (uploader, user) = await origin.UserAsync("maker", "uploader");
        await origin.PublishAsync("edited", "Original name", uploaderId: user.Id);

        using (var edit = await SendJsonAsync(origin, HttpMethod.Patch, "/api/v1/titles/edited", uploader, """{"title":"New\u0000name","tags":["ok","b\u0000d"]}"""))
        {
            Assert.Equal(HttpStatusCode.BadRequest, edit.StatusCode);
            Assert.Contains("field 'title' contains a NUL character", await CatalogOrigin.ErrorOf(edit), StringComparison.Ordinal);
        }

        var view = await origin.Client.GetFromJsonAsync<TitleView>("/api/v1/titles/edited", CatalogOrigin.Json);
        Assert.Equal("Original name", view!.Title);

        using var channel = await PostJsonAsync(origin, "/api/v1/channels", uploader, """{"name":"chan\u0000nel","description":""}""");
        Assert.Equal(HttpStatusCode.BadRequest, channel.StatusCode);
        Assert.Contains("field 'name' contains a NUL character", await CatalogOrigin.ErrorOf(channel), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UploadMetadata_WithNulAndALoneSurrogate_ReachesTheCatalogWithoutThem()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        var pipeline = origin.Role.Services.GetRequiredService<PipelineTitles>();
        var metadata = new Dictionary<string, string>
        {
            ["title"] = "Harbour\0 at dusk",
            ["description"] = "Boats \ud800and gulls",
            ["tags"] = "sea,\0,dusk",
        };
        pipeline.Insert("dirty", "upload-dirty", OpenConnect.Origin.Pipeline.TitleStates.Processing, null, metadata, "/nonexistent", null, null);
        pipeline.SetState("dirty", OpenConnect.Origin.Pipeline.TitleStates.Published, published: true);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        TitleView? view = null;
        while (view is null)
        {
            using var response = await origin.Client.GetAsync("/api/v1/titles/dirty");
            if (response.StatusCode == HttpStatusCode.OK)
            {
                view = await response.Content.ReadFromJsonAsync<TitleView>(CatalogOrigin.Json);
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the title did not reach the catalog within 20 s ({(int)response.StatusCode})");
            await Task.Delay(50);
        }

        Assert.Equal("Harbour at dusk", view!.Title);
        // The job store itself may already have replaced the lone surrogate (with U+FFFD): either way the catalog holds valid text.
        Assert.StartsWith("Boats ", view.Description, StringComparison.Ordinal);
        Assert.EndsWith("and gulls", view.Description, StringComparison.Ordinal);
        Assert.DoesNotContain(view.Description, char.IsSurrogate);
        Assert.Equal(["sea", "dusk"], view.Tags);
    }

    private static Task<HttpResponseMessage> PostJsonAsync(CatalogOrigin origin, string path, string token, string json) =>
        SendJsonAsync(origin, HttpMethod.Post, path, token, json);

    private static Task<HttpResponseMessage> SendJsonAsync(CatalogOrigin origin, HttpMethod method, string path, string token, string json)
    {
        var request = CatalogOrigin.Request(method, path, token);
        request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        return origin.Client.SendAsync(request);
    }
}

public sealed class SqliteUserTextTests : UserTextTests
{
    protected override CatalogEngine Engine => CatalogEngine.Sqlite;
}

public sealed class PostgresUserTextTests : UserTextTests
{
    protected override CatalogEngine Engine => CatalogEngine.PostgreSql;
}

/// <summary>The text rules themselves. The two halves of U+1F30A are written &lt;hi&gt; and &lt;lo&gt;, and U+0000 &lt;nul&gt;, so every case is printable test data.</summary>
public sealed class UserTextRuleTests
{
    [Theory]
    [InlineData("plain", "plain", null)]
    [InlineData("a<nul>b", "ab", "NUL")]
    [InlineData("x<hi>y", "xy", "unpaired")]
    [InlineData("x<lo>", "x", "unpaired")]
    [InlineData("wave <hi><lo><nul>", "wave <hi><lo>", "NUL")]
    public void UserText_NamesTheProblem_AndCleansIt(string text, string cleaned, string? problem)
    {
        static string Decode(string s) => s.Replace("<nul>", "\0", StringComparison.Ordinal).Replace("<hi>", "\ud83c", StringComparison.Ordinal).Replace("<lo>", "\udf0a", StringComparison.Ordinal);
        Assert.Equal(Decode(cleaned), OpenConnect.Origin.Catalog.UserText.Clean(Decode(text)));
        var found = OpenConnect.Origin.Catalog.UserText.Problem(Decode(text));
        if (problem is null)
        {
            Assert.Null(found);
        }
        else
        {
            Assert.Contains(problem, found, StringComparison.Ordinal);
        }

        Assert.Null(OpenConnect.Origin.Catalog.UserText.Problem(Decode(cleaned)));
    }
}
