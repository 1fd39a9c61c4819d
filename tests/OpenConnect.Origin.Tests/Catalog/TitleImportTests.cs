using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Origin.Catalog.Titles;

namespace OpenConnect.Origin.Tests.Catalog;

/// <summary>
/// The bulk import: the catalog it leaves (rows, search, tags, corrections, order) is the one that
/// upserting each update in turn leaves, over new and existing titles, on every catalog engine.
/// </summary>
public abstract class TitleImportTests
{
    protected abstract CatalogEngine Engine { get; }

    private static readonly DateTimeOffset Start = new(2025, 3, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Titles both catalogs hold before the batch: the batch changes some of them.</summary>
    private static readonly TitleUpdate[] Before =
    [
        Published("kept", "Crêpes Suzette, la recette", "Flambées à l'orange", ["cuisine", "dessert"], 0),
        Published("retagged", "Sourdough starter basics", "Feeding the starter", ["baking", "bread"], 1),
        Published("taken-down", "Mountain biking in the Alps", "Descending above Chamonix", ["mtb"], 2),
        new() { Id = "draft", Status = TitleStatus.Processing, Title = "Zürich old town walk", Description = "Along the Limmat", Tags = ["travel"], CreatedAt = Start },
    ];

    /// <summary>The batch: new titles, a state change with no text (text kept), new tags, a takedown, a publication.</summary>
    private static readonly TitleUpdate[] Batch =
    [
        Published("strawberry", "Strawberry cheesecake without baking", "A summer dessert", ["dessert", "baking"], 10),
        Published("sourdough", "Sourdough bread for beginners", "Shaping the loaf", ["baking", "bread"], 11),
        Published("desc-only", "Weekend kitchen vlog", "This weekend we bake sourdough at home", ["vlog"], 12),
        Published("angstrom", "Ångström units explained", "Why atoms are measured this way", ["physics", "Science"], 13),
        new() { Id = "kept", Status = TitleStatus.Published, DurationSeconds = 75 },
        new() { Id = "retagged", Status = TitleStatus.Published, Tags = ["starter", "fermentation"], Renditions = [] },
        new() { Id = "taken-down", Status = TitleStatus.Removed },
        new() { Id = "draft", Status = TitleStatus.Published, PublishedAt = Start.AddMinutes(20), HlsManifestUrl = "/v/draft/master.m3u8" },
        new() { Id = "queued", Status = TitleStatus.Queued, Title = "Marathon training plan", Description = "Twelve weeks", Tags = ["running"] },
    ];

    private static readonly string[] Queries =
    [
        "q=sourdough", "q=sourdough+bread", "q=sour", "q=dessert", "q=crepes", "q=orange", "q=angstrom", "q=strawbery", "q=mountain",
        "q=zurich", "q=limmat", "q=marathon", "q=bread", "q=starter", "q=fermentation", "q=ba", "tag=bread", "tag=starter", "tag=science",
        "tag=dessert", "q=weekend+home", "sort=recent", "q=sourdough&sort=recent",
    ];

    private static TitleUpdate Published(string id, string title, string description, string[] tags, int minute) => new()
    {
        Id = id,
        Status = TitleStatus.Published,
        Title = title,
        Description = description,
        Tags = tags,
        DurationSeconds = 60 + minute,
        HlsManifestUrl = $"/v/{id}/master.m3u8",
        Renditions = [new RenditionInfo("720p", 1280, 720, "h264", 3_000_000)],
        CreatedAt = Start.AddMinutes(minute),
        PublishedAt = Start.AddMinutes(minute + 1),
    };

    [Fact]
    public async Task AnImport_LeavesTheCatalogThatUpsertingEachUpdateInTurnLeaves()
    {
        await using var oneByOne = await CatalogOrigin.StartAsync(Engine);
        await using var imported = await CatalogOrigin.StartAsync(Engine);
        foreach (var origin in new[] { oneByOne, imported })
        {
            foreach (var update in Before)
            {
                await origin.Titles.UpsertFromPipelineAsync(update, CancellationToken.None);
            }

            // Cached copies of the changed titles must not outlive the import.
            Assert.Equal(HttpStatusCode.OK, (await origin.Client.GetAsync("api/v1/titles/taken-down")).StatusCode);
        }

        foreach (var update in Batch)
        {
            await oneByOne.Titles.UpsertFromPipelineAsync(update, CancellationToken.None);
        }

        await imported.Role.Services.GetRequiredService<PublishedTitles>().ImportAsync(Batch, CancellationToken.None);

        foreach (var id in Before.Concat(Batch).Select(u => u.Id).Distinct())
        {
            var expected = await oneByOne.Client.GetAsync($"api/v1/titles/{id}");
            var actual = await imported.Client.GetAsync($"api/v1/titles/{id}");
            Assert.Equal(expected.StatusCode, actual.StatusCode);
            if (expected.StatusCode == HttpStatusCode.OK)
            {
                AssertSameTitle((await expected.Content.ReadFromJsonAsync<TitleView>(CatalogOrigin.Json))!, (await actual.Content.ReadFromJsonAsync<TitleView>(CatalogOrigin.Json))!);
            }
        }

        foreach (var query in Queries)
        {
            var expected = await SearchTests.SearchAsync(oneByOne, query);
            var actual = await SearchTests.SearchAsync(imported, query);
            Assert.True(expected.Items.Select(t => t.Id).SequenceEqual(actual.Items.Select(t => t.Id)),
                $"{query}: one by one [{string.Join(", ", expected.Items.Select(t => t.Id))}], imported [{string.Join(", ", actual.Items.Select(t => t.Id))}]");
            Assert.Equal(expected.Corrections.Keys.Order(), actual.Corrections.Keys.Order());
            foreach (var (word, fixes) in expected.Corrections)
            {
                Assert.Equal(fixes, actual.Corrections[word]);
            }
        }

        // The cases the batch was made of, spelled out.
        Assert.Equal(["kept"], await IdsAsync(imported, "q=orange")); // no text in the update: the stored text stays
        Assert.Equal(["retagged"], await IdsAsync(imported, "tag=fermentation"));
        Assert.DoesNotContain("retagged", await IdsAsync(imported, "tag=bread"));
        Assert.Empty(await IdsAsync(imported, "q=mountain"));
        Assert.Equal(TitleStatus.Removed, (await imported.Client.GetFromJsonAsync<TitleView>("api/v1/titles/taken-down", CatalogOrigin.Json))!.Status); // not the cached copy
        Assert.Equal(["draft"], await IdsAsync(imported, "q=limmat"));
        Assert.Empty(await IdsAsync(imported, "q=marathon"));
        var strawberry = await SearchTests.SearchAsync(imported, "q=strawbery");
        Assert.Equal(["strawberry"], strawberry.Corrections["strawbery"]);
    }

    [Fact]
    public async Task ImportedTitles_AreNewestInTheOrderOfTheBatch()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        var batch = Enumerable.Range(0, 40).Select(i => Published($"t{i:D2}", $"Harbour lights part {i}", "Boats at dusk", ["sea"], i)).ToList();
        await origin.Role.Services.GetRequiredService<PublishedTitles>().ImportAsync(batch, CancellationToken.None);

        // Equal relevance: newest (last imported) first, across pages.
        Assert.Equal(batch.Select(u => u.Id).Reverse(), await SearchTests.AllPagesAsync(origin, "q=harbour&limit=7"));
    }

    [Fact]
    public async Task AnInvalidOrRepeatedUpdate_FailsTheWholeImport_AndWritesNothing()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        var store = origin.Role.Services.GetRequiredService<PublishedTitles>();
        var good = Published("good", "Lighthouse keepers", "Life on the rock", ["sea"], 0);

        var repeated = await Assert.ThrowsAsync<ArgumentException>(() => store.ImportAsync([good, good with { Title = "Lighthouse keepers, again" }], CancellationToken.None));
        Assert.Contains("'good' appears more than once", repeated.Message, StringComparison.Ordinal);
        var invalid = await Assert.ThrowsAsync<ArgumentException>(() => store.ImportAsync([good, new TitleUpdate { Id = "bad id!", Status = TitleStatus.Published }], CancellationToken.None));
        Assert.Contains("'bad id!' is not a valid title id", invalid.Message, StringComparison.Ordinal);
        var unknown = await Assert.ThrowsAsync<ArgumentException>(() => store.ImportAsync([good, new TitleUpdate { Id = "odd", Status = "live" }], CancellationToken.None));
        Assert.Contains("'live' is not a title status", unknown.Message, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.NotFound, (await origin.Client.GetAsync("api/v1/titles/good")).StatusCode);
        Assert.Empty(await IdsAsync(origin, "q=lighthouse"));
    }

    private static async Task<List<string>> IdsAsync(CatalogOrigin origin, string query) =>
        [.. (await SearchTests.SearchAsync(origin, query)).Items.Select(t => t.Id)];

    /// <summary>Every field but the update time (each catalog stamps its own writes).</summary>
    private static void AssertSameTitle(TitleView expected, TitleView actual)
    {
        Assert.Equal(expected.Tags, actual.Tags);
        Assert.Equal(expected.Renditions, actual.Renditions);
        Assert.Equal(
            expected with { Tags = [], Renditions = [], UpdatedAt = default, CreatedAt = default, PublishedAt = null },
            actual with { Tags = [], Renditions = [], UpdatedAt = default, CreatedAt = default, PublishedAt = null });

        // Stamped "now" only where the updates gave no time: equal within the test's run.
        Assert.Equal(expected.CreatedAt, actual.CreatedAt, TimeSpan.FromMinutes(5));
        Assert.Equal(expected.PublishedAt is null, actual.PublishedAt is null);
        if (expected.PublishedAt is { } published)
        {
            Assert.Equal(published, actual.PublishedAt!.Value, TimeSpan.FromMinutes(5));
        }
    }
}

/// <summary>The bulk import on SQLite (one upsert after another in one transaction).</summary>
public sealed class SqliteTitleImportTests : TitleImportTests
{
    protected override CatalogEngine Engine => CatalogEngine.Sqlite;
}

/// <summary>The bulk import on PostgreSQL (COPY and set-based statements).</summary>
public sealed class PostgresTitleImportTests : TitleImportTests
{
    protected override CatalogEngine Engine => CatalogEngine.PostgreSql;
}
