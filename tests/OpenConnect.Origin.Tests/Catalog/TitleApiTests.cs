using System.Net;
using System.Net.Http.Json;
using OpenConnect.Origin.Catalog.Search;
using OpenConnect.Origin.Catalog.Titles;

namespace OpenConnect.Origin.Tests.Catalog;

public abstract class TitleApiTests
{
    protected abstract CatalogEngine Engine { get; }

    [Fact]
    public async Task TitleRead_CarriesPlayerFields_AndAnswers304ForItsETag_UntilTheTitleChanges()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        await origin.Titles.UpsertFromPipelineAsync(new TitleUpdate { Id = "t-etag", Status = TitleStatus.Processing, Title = "Harbour at dawn" }, CancellationToken.None);
        var processing = await origin.Client.GetFromJsonAsync<TitleView>("/api/v1/titles/t-etag", CatalogOrigin.Json);
        Assert.Equal("processing", processing!.Status);
        Assert.Null(processing.PublishedAt);

        await origin.PublishAsync("t-etag", "Harbour at dawn", "Boats leaving the harbour", ["sea", "boats"]);
        var first = await origin.Client.GetAsync("/api/v1/titles/t-etag");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var etag = first.Headers.ETag;
        Assert.NotNull(etag);
        var view = (await first.Content.ReadFromJsonAsync<TitleView>(CatalogOrigin.Json))!;
        Assert.Equal("published", view.Status);
        Assert.Equal("/v/t-etag/master.m3u8", view.Manifests.Hls);
        Assert.Equal("/v/t-etag/manifest.mpd", view.Manifests.Dash);
        Assert.Equal(["sea", "boats"], view.Tags);
        Assert.Equal("720p", Assert.Single(view.Renditions).Name);
        Assert.NotNull(view.PublishedAt);

        using var conditional = new HttpRequestMessage(HttpMethod.Get, "/api/v1/titles/t-etag");
        conditional.Headers.IfNoneMatch.Add(etag);
        Assert.Equal(HttpStatusCode.NotModified, (await origin.Client.SendAsync(conditional)).StatusCode);

        await origin.Titles.UpsertFromPipelineAsync(new TitleUpdate { Id = "t-etag", Status = TitleStatus.Published, Description = "Boats leaving the harbour at first light" }, CancellationToken.None);
        using var again = new HttpRequestMessage(HttpMethod.Get, "/api/v1/titles/t-etag");
        again.Headers.IfNoneMatch.Add(etag);
        var changed = await origin.Client.SendAsync(again);
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.NotEqual(etag, changed.Headers.ETag);
        var edited = (await changed.Content.ReadFromJsonAsync<TitleView>(CatalogOrigin.Json))!;
        Assert.Equal("Boats leaving the harbour at first light", edited.Description);
        Assert.Equal("Harbour at dawn", edited.Title);
    }

    [Fact]
    public async Task BadInput_GetsClearJsonErrors()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        var (uploader, _) = await origin.UserAsync("uploader1", "uploader");
        await origin.PublishAsync("t-mine", "Mine");

        var unknown = await origin.Client.GetAsync("/api/v1/titles/nope");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("nope", await CatalogOrigin.ErrorOf(unknown));

        var badId = await origin.Client.GetAsync("/api/v1/titles/bad%20id!");
        Assert.Equal(HttpStatusCode.BadRequest, badId.StatusCode);
        Assert.Contains("title id", await CatalogOrigin.ErrorOf(badId));

        foreach (var cursor in new[] { "garbage", "%%%", Convert.ToBase64String("c:5"u8.ToArray()) })
        {
            var bad = await origin.Client.GetAsync($"/api/v1/titles?cursor={Uri.EscapeDataString(cursor)}");
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("cursor", await CatalogOrigin.ErrorOf(bad));
        }

        var badSearchCursor = await origin.Client.GetAsync("/api/v1/search?q=mine&cursor=zzzz");
        Assert.Equal(HttpStatusCode.BadRequest, badSearchCursor.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await origin.Client.GetAsync("/api/v1/titles?limit=1000")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await origin.Client.GetAsync("/api/v1/search?sort=loudest")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await origin.Client.GetAsync("/api/v1/search?minDuration=-3")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await origin.Client.GetAsync($"/api/v1/search?q={new string('a', 201)}")).StatusCode);

        var oversizedTitle = await origin.SendAsync(HttpMethod.Patch, "/api/v1/titles/t-mine", uploader, new { title = new string('x', 201) });
        Assert.Equal(HttpStatusCode.BadRequest, oversizedTitle.StatusCode);
        Assert.Contains("title", await CatalogOrigin.ErrorOf(oversizedTitle));
        var tooManyTags = await origin.SendAsync(HttpMethod.Patch, "/api/v1/titles/t-mine", uploader, new { tags = Enumerable.Range(0, 21).Select(i => $"tag{i}").ToArray() });
        Assert.Equal(HttpStatusCode.BadRequest, tooManyTags.StatusCode);
        var oversizedComment = await origin.SendAsync(HttpMethod.Post, "/api/v1/titles/t-mine/comments", uploader, new { body = new string('c', 5001) });
        Assert.Equal(HttpStatusCode.BadRequest, oversizedComment.StatusCode);

        using var huge = CatalogOrigin.Request(HttpMethod.Patch, "/api/v1/titles/t-mine", uploader);
        huge.Content = new StringContent("{\"description\":\"" + new string('d', 70_000) + "\"}", System.Text.Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await origin.Client.SendAsync(huge)).StatusCode);

        using var malformed = CatalogOrigin.Request(HttpMethod.Patch, "/api/v1/titles/t-mine", uploader);
        malformed.Content = new StringContent("{\"title\": ", System.Text.Encoding.UTF8, "application/json");
        var malformedResponse = await origin.Client.SendAsync(malformed);
        Assert.Equal(HttpStatusCode.BadRequest, malformedResponse.StatusCode);
        Assert.Contains("JSON", await CatalogOrigin.ErrorOf(malformedResponse));

        using var unknownField = CatalogOrigin.Request(HttpMethod.Patch, "/api/v1/titles/t-mine", uploader);
        unknownField.Content = new StringContent("{\"titel\": \"typo\"}", System.Text.Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.BadRequest, (await origin.Client.SendAsync(unknownField)).StatusCode);

        var viewUnknown = await origin.SendAsync(HttpMethod.Post, "/api/v1/titles/nope/views", null, new { sessionId = "session-0001" });
        Assert.Equal(HttpStatusCode.NotFound, viewUnknown.StatusCode);
        var badSession = await origin.SendAsync(HttpMethod.Post, "/api/v1/titles/t-mine/views", null, new { sessionId = "x" });
        Assert.Equal(HttpStatusCode.BadRequest, badSession.StatusCode);

        await Assert.ThrowsAsync<ArgumentException>(() => origin.Titles.UpsertFromPipelineAsync(new TitleUpdate { Id = "../etc", Status = "published" }, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => origin.Titles.UpsertFromPipelineAsync(new TitleUpdate { Id = "ok", Status = "exploded" }, CancellationToken.None));
        Assert.Equal(HttpStatusCode.NotFound, (await origin.Client.GetAsync("/api/v1/titles/ok")).StatusCode);
    }

    [Fact]
    public async Task Writes_NeedAToken_OfTheRightRole_AndTheRightOwner()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        var (viewer, _) = await origin.UserAsync("viewer1");
        var (owner, ownerUser) = await origin.UserAsync("owner1", "uploader");
        var (other, _) = await origin.UserAsync("other1", "uploader");
        await origin.PublishAsync("t-owned", "Owned title", uploaderId: ownerUser.Id, channelId: ownerUser.ChannelId);

        var anonymous = await origin.SendAsync(HttpMethod.Patch, "/api/v1/titles/t-owned", null, new { title = "x" });
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("Bearer", anonymous.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Contains("token", await CatalogOrigin.ErrorOf(anonymous));
        Assert.Equal(HttpStatusCode.Unauthorized, (await origin.SendAsync(HttpMethod.Patch, "/api/v1/titles/t-owned", "forged-token", new { title = "x" })).StatusCode);

        var asViewer = await origin.SendAsync(HttpMethod.Patch, "/api/v1/titles/t-owned", viewer, new { title = "x" });
        Assert.Equal(HttpStatusCode.Forbidden, asViewer.StatusCode);
        Assert.Contains("uploader", await CatalogOrigin.ErrorOf(asViewer));
        Assert.Equal(HttpStatusCode.Forbidden, (await origin.SendAsync(HttpMethod.Patch, "/api/v1/titles/t-owned", other, new { title = "x" })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await origin.SendAsync(HttpMethod.Put, "/api/v1/titles/t-owned/rating", null, new { rating = "like" })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await origin.SendAsync(HttpMethod.Post, "/api/v1/titles/t-owned/comments", null, new { body = "hi" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await origin.SendAsync(HttpMethod.Post, "/api/v1/channels", viewer, new { name = "mine" })).StatusCode);

        var edit = await origin.SendAsync(HttpMethod.Patch, "/api/v1/titles/t-owned", owner, new { title = "Owned title, renamed" });
        Assert.Equal(HttpStatusCode.OK, edit.StatusCode);
        Assert.Equal("Owned title, renamed", (await edit.Content.ReadFromJsonAsync<TitleView>(CatalogOrigin.Json))!.Title);

        // The edit is searchable at once: the index is updated in the same transaction.
        var found = await origin.Client.GetFromJsonAsync<SearchResult>("/api/v1/search?q=renamed", CatalogOrigin.Json);
        Assert.Equal("t-owned", Assert.Single(found!.Items).Id);

        var logout = await origin.SendAsync(HttpMethod.Post, "/api/v1/auth/logout", owner);
        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await origin.SendAsync(HttpMethod.Patch, "/api/v1/titles/t-owned", owner, new { title = "x" })).StatusCode);
    }

    [Fact]
    public async Task TitleList_PagesByCursor_NewestFirst_WithoutDuplicatesOrGaps()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        for (var i = 0; i < 7; i++)
        {
            await origin.Titles.UpsertFromPipelineAsync(new TitleUpdate
            {
                Id = $"page-{i}",
                Status = TitleStatus.Published,
                Title = $"Episode {i}",
                PublishedAt = DateTimeOffset.UnixEpoch.AddDays(20_000 + i),
            }, CancellationToken.None);
        }

        await origin.Titles.UpsertFromPipelineAsync(new TitleUpdate { Id = "page-draft", Status = TitleStatus.Queued, Title = "Not yet" }, CancellationToken.None);
        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await origin.Client.GetFromJsonAsync<Page<TitleView>>("/api/v1/titles?limit=3" + (cursor is null ? "" : "&cursor=" + cursor), CatalogOrigin.Json);
            seen.AddRange(page!.Items.Select(t => t.Id));
            cursor = page.NextCursor;
            pages++;
        }
        while (cursor is not null);

        Assert.Equal(3, pages);
        Assert.Equal(Enumerable.Range(0, 7).Reverse().Select(i => $"page-{i}"), seen);
    }
}

/// <summary>The title API on SQLite, and what only SQLite has.</summary>
public sealed class SqliteTitleApiTests : TitleApiTests
{
    protected override CatalogEngine Engine => CatalogEngine.Sqlite;

    [Fact]
    public async Task OpenApiDocument_DescribesTheCatalogApi()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        var document = await origin.Client.GetStringAsync("/openapi/v1.json");
        using var json = System.Text.Json.JsonDocument.Parse(document);
        var paths = json.RootElement.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/api/v1/search", out _));
        Assert.True(paths.TryGetProperty("/api/v1/titles/{id}", out _));
        Assert.True(paths.TryGetProperty("/api/v1/notifications/stream", out _));
    }
}

/// <summary>The title API on PostgreSQL.</summary>
public sealed class PostgresTitleApiTests : TitleApiTests
{
    protected override CatalogEngine Engine => CatalogEngine.PostgreSql;
}
