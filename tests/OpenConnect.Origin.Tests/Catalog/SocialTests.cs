using System.Net;
using System.Net.Http.Json;
using OpenConnect.Origin.Catalog.Accounts;
using OpenConnect.Origin.Catalog.Social;
using OpenConnect.Origin.Catalog.Titles;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Catalog;

public abstract class SocialTests
{
    protected abstract CatalogEngine Engine { get; }

    [Fact]
    public async Task Ratings_AreOnePerUser_Idempotent_AndSwitchable()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        var (alice, _) = await origin.UserAsync("alice");
        var (bob, _) = await origin.UserAsync("bob");
        await origin.PublishAsync("rated", "Rated title");

        async Task<RatingView> RateAsync(string token, string rating)
        {
            var response = await origin.SendAsync(HttpMethod.Put, "/api/v1/titles/rated/rating", token, new { rating });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<RatingView>(CatalogOrigin.Json))!;
        }

        Assert.Equal(new RatingView("like", 1, 0), await RateAsync(alice, "like"));
        Assert.Equal(new RatingView("like", 1, 0), await RateAsync(alice, "like"));
        await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => RateAsync(alice, "like")));
        Assert.Equal(new RatingView("dislike", 1, 1), await RateAsync(bob, "dislike"));
        Assert.Equal(new RatingView("dislike", 0, 2), await RateAsync(alice, "dislike"));
        Assert.Equal(new RatingView("none", 0, 1), await RateAsync(alice, "none"));
        Assert.Equal(new RatingView("none", 0, 1), await RateAsync(alice, "none"));

        var mine = await origin.Client.SendAsync(CatalogOrigin.Request(HttpMethod.Get, "/api/v1/titles/rated/rating", bob));
        Assert.Contains("dislike", await mine.Content.ReadAsStringAsync());
        var view = await origin.Client.GetFromJsonAsync<TitleView>("/api/v1/titles/rated", CatalogOrigin.Json);
        Assert.Equal((0, 1), (view!.Likes, view.Dislikes));

        var bad = await origin.SendAsync(HttpMethod.Put, "/api/v1/titles/rated/rating", alice, new { rating = "love" });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await origin.SendAsync(HttpMethod.Put, "/api/v1/titles/unknown/rating", alice, new { rating = "like" })).StatusCode);
    }

    [Fact]
    public async Task Comments_AreThreaded_Paged_AndEditableOnlyByTheirAuthor()
    {
        using var secrets = new TempDirectory("oc-admin");
        await using var origin = await CatalogOrigin.StartAsync(Engine, $"--Origin:Catalog:AdminPasswordFile={await AdminPasswordFileAsync(secrets)}");
        var (alice, aliceUser) = await origin.UserAsync("alice");
        var (bob, _) = await origin.UserAsync("bob");
        var admin = await LoginAsync(origin, "admin", "admin password 1");
        await origin.PublishAsync("talk", "A talk");

        async Task<CommentView> CommentAsync(string token, string body, long? parentId = null)
        {
            var response = await origin.SendAsync(HttpMethod.Post, "/api/v1/titles/talk/comments", token, new { body, parentId });
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<CommentView>(CatalogOrigin.Json))!;
        }

        var top = new List<CommentView>();
        for (var i = 0; i < 5; i++)
        {
            top.Add(await CommentAsync(i % 2 == 0 ? alice : bob, $"top {i}"));
        }

        var reply = await CommentAsync(bob, "reply to top 0", top[0].Id);
        var nested = await CommentAsync(alice, "reply to the reply", reply.Id);
        await CommentAsync(alice, "second reply to top 0", top[0].Id);

        var firstPage = await origin.Client.GetFromJsonAsync<Page<CommentView>>("/api/v1/titles/talk/comments?limit=3", CatalogOrigin.Json);
        Assert.Equal(["top 0", "top 1", "top 2"], firstPage!.Items.Select(c => c.Body));
        Assert.Equal(2, firstPage.Items[0].Replies);
        Assert.Equal("alice", firstPage.Items[0].UserName);
        var secondPage = await origin.Client.GetFromJsonAsync<Page<CommentView>>($"/api/v1/titles/talk/comments?limit=3&cursor={firstPage.NextCursor}", CatalogOrigin.Json);
        Assert.Equal(["top 3", "top 4"], secondPage!.Items.Select(c => c.Body));
        Assert.Null(secondPage.NextCursor);

        var replies = await origin.Client.GetFromJsonAsync<Page<CommentView>>($"/api/v1/titles/talk/comments?parent={top[0].Id}", CatalogOrigin.Json);
        Assert.Equal(["reply to top 0", "second reply to top 0"], replies!.Items.Select(c => c.Body));
        Assert.Equal(1, replies.Items[0].Replies);
        var deep = await origin.Client.GetFromJsonAsync<Page<CommentView>>($"/api/v1/titles/talk/comments?parent={reply.Id}", CatalogOrigin.Json);
        Assert.Equal(nested.Id, Assert.Single(deep!.Items).Id);

        await origin.PublishAsync("other", "Another talk");
        var crossTitle = await origin.SendAsync(HttpMethod.Post, "/api/v1/titles/other/comments", alice, new { body = "misplaced", parentId = top[0].Id });
        Assert.Equal(HttpStatusCode.BadRequest, crossTitle.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await origin.Client.GetAsync("/api/v1/titles/talk/comments?cursor=bogus")).StatusCode);

        Assert.Equal(HttpStatusCode.Forbidden, (await origin.SendAsync(HttpMethod.Patch, $"/api/v1/comments/{top[0].Id}", bob, new { body = "hijack" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await origin.SendAsync(HttpMethod.Delete, $"/api/v1/comments/{top[0].Id}", bob)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await origin.SendAsync(HttpMethod.Patch, $"/api/v1/comments/{top[0].Id}", alice, new { body = "top 0 (edited)" })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await origin.SendAsync(HttpMethod.Delete, $"/api/v1/comments/{top[2].Id}", alice)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await origin.SendAsync(HttpMethod.Delete, $"/api/v1/comments/{top[1].Id}", admin)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await origin.SendAsync(HttpMethod.Delete, $"/api/v1/comments/{top[1].Id}", bob)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await origin.SendAsync(HttpMethod.Patch, "/api/v1/comments/999999", alice, new { body = "x" })).StatusCode);

        var after = await origin.Client.GetFromJsonAsync<Page<CommentView>>("/api/v1/titles/talk/comments", CatalogOrigin.Json);
        Assert.Equal("top 0 (edited)", after!.Items[0].Body);
        Assert.NotNull(after.Items[0].EditedAt);
        Assert.Equal(aliceUser.Id, after.Items[0].UserId);
        Assert.True(after.Items[1].Deleted);
        Assert.Equal("", after.Items[1].Body);
        Assert.True(after.Items[2].Deleted);
        Assert.Equal(2, after.Items[0].Replies);
    }

    [Fact]
    public async Task Subscriptions_AreIdempotent_AndListed()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        var (viewer, _) = await origin.UserAsync("fan");
        var (_, creator) = await origin.UserAsync("creator", "uploader");
        Assert.NotNull(creator.ChannelId);

        Assert.Equal(HttpStatusCode.NoContent, (await origin.SendAsync(HttpMethod.Put, $"/api/v1/channels/{creator.ChannelId}/subscription", viewer)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await origin.SendAsync(HttpMethod.Put, $"/api/v1/channels/{creator.ChannelId}/subscription", viewer)).StatusCode);
        var channel = await origin.Client.GetFromJsonAsync<ChannelView>($"/api/v1/channels/{creator.ChannelId}", CatalogOrigin.Json);
        Assert.Equal(1, channel!.Subscribers);
        var mine = await (await origin.SendAsync(HttpMethod.Get, "/api/v1/subscriptions", viewer)).Content.ReadFromJsonAsync<List<ChannelView>>(CatalogOrigin.Json);
        Assert.Equal(creator.ChannelId, Assert.Single(mine!).Id);

        Assert.Equal(HttpStatusCode.NoContent, (await origin.SendAsync(HttpMethod.Delete, $"/api/v1/channels/{creator.ChannelId}/subscription", viewer)).StatusCode);
        Assert.Equal(0, (await origin.Client.GetFromJsonAsync<ChannelView>($"/api/v1/channels/{creator.ChannelId}", CatalogOrigin.Json))!.Subscribers);
        Assert.Equal(HttpStatusCode.NotFound, (await origin.SendAsync(HttpMethod.Put, "/api/v1/channels/nochannel/subscription", viewer)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await origin.SendAsync(HttpMethod.Put, $"/api/v1/channels/{creator.ChannelId}/subscription", null)).StatusCode);
    }

    internal static async Task<string> AdminPasswordFileAsync(TempDirectory directory)
    {
        var path = directory.Combine("admin-password.txt");
        await File.WriteAllTextAsync(path, "admin password 1\n");
        return path;
    }

    internal static async Task<string> LoginAsync(CatalogOrigin origin, string name, string password)
    {
        var login = await origin.Client.PostAsJsonAsync("/api/v1/auth/login", new { name, password });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        return (await login.Content.ReadFromJsonAsync<LoginResult>(CatalogOrigin.Json))!.Token;
    }
}

/// <summary>Ratings, comments, subscriptions on SQLite.</summary>
public sealed class SqliteSocialTests : SocialTests
{
    protected override CatalogEngine Engine => CatalogEngine.Sqlite;
}

/// <summary>Ratings, comments, subscriptions on PostgreSQL.</summary>
public sealed class PostgresSocialTests : SocialTests
{
    protected override CatalogEngine Engine => CatalogEngine.PostgreSql;
}
