using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Origin.Catalog.Search;
using OpenConnect.Origin.Catalog.Titles;

namespace OpenConnect.Origin.Tests.Catalog;

/// <summary>Search relevance, filters and orders: the same cases on every catalog engine.</summary>
public abstract class SearchTests
{
    protected abstract CatalogEngine Engine { get; }

    private static async Task SeedAsync(CatalogOrigin origin)
    {
        await origin.PublishAsync("crepes", "Crêpes Suzette, la recette", "Une recette de crêpes flambées à l'orange", ["cuisine", "dessert"]);
        await origin.PublishAsync("angstrom", "Ångström units explained", "Why atoms are measured this way", ["physics"]);
        await origin.PublishAsync("strawberry", "Strawberry cheesecake without baking", "A summer dessert", ["dessert", "baking"]);
        await origin.PublishAsync("sourdough", "Sourdough bread for beginners", "Feeding the starter and shaping the loaf", ["baking", "bread"]);
        await origin.PublishAsync("desc-only", "Weekend kitchen vlog", "This weekend we bake sourdough at home", ["vlog"]);
        await origin.PublishAsync("tag-only", "Kitchen basics", "Knives, pans and timing", ["sourdough"]);
        await origin.PublishAsync("mountain", "Mountain biking in the Alps", "Descending the trails above Chamonix", ["mtb", "alps"], duration: 900);
        await origin.PublishAsync("marathon", "Marathon training plan", "Twelve weeks to race day", ["running"], duration: 3600);
        await origin.PublishAsync("go", "Go concurrency patterns", "Channels and goroutines", ["golang", "programming"]);
        await origin.PublishAsync("zurich", "Zürich old town walk", "Along the Limmat", ["travel"]);
        await origin.Titles.UpsertFromPipelineAsync(new TitleUpdate { Id = "draft", Status = TitleStatus.Processing, Title = "Sourdough secrets (draft)" }, CancellationToken.None);
    }

    internal static async Task<SearchResult> SearchAsync(CatalogOrigin origin, string query) =>
        (await origin.Client.GetFromJsonAsync<SearchResult>("/api/v1/search?" + query, CatalogOrigin.Json))!;

    /// <summary>The ids of every page of a search, following the cursor to the end.</summary>
    internal static async Task<List<string>> AllPagesAsync(CatalogOrigin origin, string query)
    {
        var all = new List<string>();
        string? cursor = null;
        do
        {
            var page = await SearchAsync(origin, query + (cursor is null ? "" : "&cursor=" + cursor));
            all.AddRange(page.Items.Select(t => t.Id));
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        return all;
    }

    [Theory]
    [InlineData("crepes", "crepes")] // accents removed in the index
    [InlineData("crêpe", "crepes")] // and in the query
    [InlineData("angstrom", "angstrom")]
    [InlineData("ZURICH", "zurich")] // case-insensitive
    [InlineData("strawbery", "strawberry")] // missing letter
    [InlineData("strawbrery", "strawberry")] // extra letter
    [InlineData("mountian biking", "mountain")] // transposition, two words
    [InlineData("cheesecak", "strawberry")] // prefix
    [InlineData("marathn trainig", "marathon")] // two misspellings
    [InlineData("concurency", "go")]
    [InlineData("go", "go")] // shorter than a trigram: LIKE fallback, title prefix first
    public async Task FixedCorpus_FindsTheIntendedTitleFirst(string query, string expectedFirst)
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        await SeedAsync(origin);
        var result = await SearchAsync(origin, "q=" + Uri.EscapeDataString(query));
        Assert.NotEmpty(result.Items);
        Assert.Equal(expectedFirst, result.Items[0].Id);
    }

    [Fact]
    public async Task Ranking_WeighsTitleAboveTagsAboveDescription_AndSkipsUnpublished()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        await SeedAsync(origin);
        var result = await SearchAsync(origin, "q=sourdough");
        Assert.Equal(["sourdough", "tag-only", "desc-only"], result.Items.Select(t => t.Id));
        Assert.Empty(result.Corrections);

        var corrected = await SearchAsync(origin, "q=sourdugh");
        Assert.Equal("sourdough", corrected.Items[0].Id);
        Assert.Equal(["sourdough"], corrected.Corrections["sourdugh"]);

        Assert.Empty((await SearchAsync(origin, "q=xylophonic")).Items);
    }

    [Fact]
    public async Task Filters_AndSortOrders_Apply()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        await SeedAsync(origin);
        var (channelOwner, owner) = await origin.UserAsync("chef", "uploader");
        _ = channelOwner;
        await origin.PublishAsync("chef-bread", "Rye bread at home", "Dense and dark", ["baking"], channelId: owner.ChannelId);

        Assert.Equal(["chef-bread", "sourdough", "strawberry"], (await SearchAsync(origin, "tag=Baking&sort=recent")).Items.Select(t => t.Id));
        Assert.Equal(["chef-bread"], (await SearchAsync(origin, $"q=bread&channel={owner.ChannelId}")).Items.Select(t => t.Id));
        Assert.Equal(["mountain", "marathon"], (await SearchAsync(origin, "minDuration=600&sort=recent")).Items.Select(t => t.Id).Reverse());
        Assert.Equal(["mountain"], (await SearchAsync(origin, "minDuration=600&maxDuration=1200")).Items.Select(t => t.Id));

        for (var i = 0; i < 3; i++)
        {
            await origin.SendAsync(HttpMethod.Post, "/api/v1/titles/marathon/views", null, new { sessionId = $"session-m{i:D4}" });
        }

        await origin.SendAsync(HttpMethod.Post, "/api/v1/titles/zurich/views", null, new { sessionId = "session-z0001" });
        await origin.SendAsync(HttpMethod.Post, "/api/v1/titles/zurich/views", null, new { sessionId = "session-z0002" });
        await origin.Role.Services.GetRequiredService<ViewCounter>().FlushAsync(CancellationToken.None);
        var byViews = await SearchAsync(origin, "sort=views&limit=2");
        Assert.Equal(["marathon", "zurich"], byViews.Items.Select(t => t.Id));
        Assert.Equal(3, byViews.Items[0].Views);
        Assert.Equal(["marathon", "zurich"], (await SearchAsync(origin, "sort=trending&limit=2")).Items.Select(t => t.Id));

        // Pages of a search follow the cursor until the end.
        var all = await AllPagesAsync(origin, "sort=recent&limit=4");

        Assert.Equal(11, all.Count);
        Assert.Equal(11, all.Distinct().Count());
    }

    [Fact]
    public async Task AStateChangeAwayFromPublished_RemovesTheTitleFromSearch()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        await origin.PublishAsync("gone", "Lighthouse keepers", "Life on the rock", ["sea"]);
        Assert.Single((await SearchAsync(origin, "q=lighthouse")).Items);
        await origin.Titles.UpsertFromPipelineAsync(new TitleUpdate { Id = "gone", Status = TitleStatus.Rejected, FailureReason = "policy" }, CancellationToken.None);
        Assert.Empty((await SearchAsync(origin, "q=lighthouse")).Items);
        Assert.Empty((await SearchAsync(origin, "tag=sea")).Items);
        var view = await origin.Client.GetFromJsonAsync<TitleView>("/api/v1/titles/gone", CatalogOrigin.Json);
        Assert.Equal("rejected", view!.Status);
        Assert.Equal("policy", view.FailureReason);
    }
}

public sealed class SqliteSearchTests : SearchTests
{
    protected override CatalogEngine Engine => CatalogEngine.Sqlite;
}

public sealed class PostgresSearchTests : SearchTests
{
    protected override CatalogEngine Engine => CatalogEngine.PostgreSql;
}

/// <summary>The engine-independent parts of search: folding, edit distance, the hot score.</summary>
public sealed class SearchScoringTests
{
    [Theory]
    [InlineData("Ångström", "angstrom")]
    [InlineData("Crêpes Žluťoučký", "crepes zlutoucky")]
    [InlineData("ÇA ÉTÉ", "ca ete")]
    [InlineData("Straße", "straße")]
    public void Fold_RemovesLatinDiacritics_AndLowersCase(string input, string expected) => Assert.Equal(expected, TextFold.Fold(input));

    [Theory]
    [InlineData("strawberry", "strawberry", 0)]
    [InlineData("strawbery", "strawberry", 1)]
    [InlineData("mountian", "mountain", 1)]
    [InlineData("kitten", "sitting", 3)]
    [InlineData("", "abc", 3)]
    public void EditDistance_CountsEditsAndTranspositions(string a, string b, int expected) => Assert.Equal(expected, TextFold.EditDistance(a, b));

    [Fact]
    public void HotScore_TradesEngagementAgainstAge()
    {
        var now = new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero);
        // Ten times the engagement is worth 45,000 s (12.5 h) of age.
        Assert.Equal(PublishedTitles.HotScore(1000, 0, 0, now.AddSeconds(-45_000)), PublishedTitles.HotScore(100, 0, 0, now), 6);
        Assert.True(PublishedTitles.HotScore(100, 0, 0, now) > PublishedTitles.HotScore(100, 0, 0, now.AddDays(-1)));
        Assert.True(PublishedTitles.HotScore(100, 5, 0, now) > PublishedTitles.HotScore(100, 0, 5, now));
    }
}
