using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Origin.Catalog;
using OpenConnect.Origin.Catalog.Search;
using OpenConnect.Origin.Catalog.Titles;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Catalog;

/// <summary>The word-tokenized search index: prefixes, corrections, ranking windows, on every catalog engine.</summary>
public abstract class SearchIndexTests
{
    protected abstract CatalogEngine Engine { get; }

    private protected static Task<SearchResult> SearchAsync(CatalogOrigin origin, string query) => SearchTests.SearchAsync(origin, query);

    private protected static async Task<List<string>> IdsAsync(CatalogOrigin origin, string query) =>
        [.. (await SearchAsync(origin, query)).Items.Select(t => t.Id)];

    /// <summary>
    /// After an upgrade: the published title "old-crepes" of the older schema (Crêpes Suzette, tag
    /// dessert, "Flambées à l'orange") is found by word, prefix, tag and correction, and its index rows
    /// are replaced like new ones on an edit, while new titles index as usual.
    /// </summary>
    private protected static async Task AssertTheMigratedTitleIsSearchableAndEditableAsync(CatalogOrigin origin)
    {
        Assert.Equal(["old-crepes"], await IdsAsync(origin, "q=crepes"));
        Assert.Equal(["old-crepes"], await IdsAsync(origin, "q=orange"));
        Assert.Equal(["old-crepes"], await IdsAsync(origin, "q=suz"));
        Assert.Equal(["old-crepes"], await IdsAsync(origin, "q=dessert"));
        Assert.Equal(["old-crepes"], await IdsAsync(origin, "tag=dessert"));
        var corrected = await SearchAsync(origin, "q=suzete");
        Assert.Equal(["old-crepes"], corrected.Items.Select(t => t.Id));
        Assert.Equal(["suzette"], corrected.Corrections["suzete"]);

        var store = origin.Role.Services.GetRequiredService<PublishedTitles>();
        Assert.NotNull(await store.EditAsync("old-crepes", "Galettes bretonnes", "Buckwheat", null, CancellationToken.None));
        await origin.PublishAsync("new-crepes", "Crêpes for breakfast", "Quick batter", ["breakfast"]);
        Assert.Equal(["new-crepes"], await IdsAsync(origin, "q=crepes"));
        Assert.Empty(await IdsAsync(origin, "q=orange"));
        Assert.Equal(["old-crepes"], await IdsAsync(origin, "q=galettes+buckwheat"));
    }

    [Fact]
    public async Task TheLastWordIsAPrefix_EarlierWordsAreWholeWords()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        await origin.PublishAsync("breadboard", "Breadboard circuits at home", "Wires and resistors", ["electronics"]);
        await origin.PublishAsync("bread", "Bread at home", "Flour, water, salt", ["baking"]);

        Assert.Equal(["bread"], await IdsAsync(origin, "q=bread+home"));
        Assert.Equal(["bread", "breadboard"], (await IdsAsync(origin, "q=home+bread")).Order());
        Assert.Equal(["breadboard"], await IdsAsync(origin, "q=home+breadb"));
        Assert.Equal(["breadboard"], await IdsAsync(origin, "q=circ+home")); // a word that only begins an indexed word is a prefix anywhere
        Assert.Equal(["bread", "breadboard"], (await IdsAsync(origin, "q=br")).Order()); // two letters: the prefix index
        Assert.Empty(await IdsAsync(origin, "q=b")); // one letter: a whole word only
        Assert.Empty(await IdsAsync(origin, "q=home+bakery"));
    }

    [Fact]
    public async Task AMisspelledWord_IsCorrectedThroughTheVocabulary_BesideAPrefix()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        await origin.PublishAsync("strawberry", "Strawberry cheesecake without baking", "A summer dessert", ["dessert"]);
        await origin.PublishAsync("cheddar", "Cheddar cheese caves", "Aged in limestone for two years", ["cheese"]);

        var result = await SearchAsync(origin, "q=" + Uri.EscapeDataString("stawberry chee"));
        Assert.Equal(["strawberry"], result.Items.Select(t => t.Id));
        Assert.Equal(["strawberry"], result.Corrections["stawberry"]);
        Assert.False(result.Corrections.ContainsKey("chee"));

        // A misspelled last word, too long to be a prefix of anything, is corrected as well.
        var misspelledLast = await SearchAsync(origin, "q=" + Uri.EscapeDataString("cheddar chese"));
        Assert.Equal(["cheddar"], misspelledLast.Items.Select(t => t.Id));
        Assert.Contains("cheese", misspelledLast.Corrections["chese"]);

        // Description words are searchable and correctable although only the vocabulary has trigrams.
        var description = await SearchAsync(origin, "q=limestnoe");
        Assert.Equal(["cheddar"], description.Items.Select(t => t.Id));
        Assert.Equal(["limestone"], description.Corrections["limestnoe"]);
    }

    [Fact]
    public async Task TitleAndTagMatches_RankByBm25WithinWindows_ThenDescriptionMatchesNewestFirst_AcrossPages()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        var titleMatches = TitleSearch.RankWindow + 44;
        for (var i = 0; i < titleMatches; i++)
        {
            await origin.PublishAsync($"title-{i:D3}", $"Lantern festival night {i}", "Paper and light", ["festival"]);
        }

        for (var i = 0; i < 3; i++)
        {
            await origin.PublishAsync($"tag-{i}", $"Night market {i}", "Street food", ["lantern"]);
        }

        for (var i = 0; i < 5; i++)
        {
            await origin.PublishAsync($"desc-{i}", $"River walk {i}", "We end the evening under a lantern", ["walk"]);
        }

        await origin.PublishAsync("other", "Harbour fireworks", "Boats and light", ["festival"]);

        var all = await SearchTests.AllPagesAsync(origin, "q=lantern&limit=100");

        Assert.Equal(titleMatches + 8, all.Count);
        Assert.Equal(all.Count, all.Distinct().Count());

        // The newest window holds the three tag matches and the newest title matches: BM25 puts the
        // title matches first. The older title matches form the next window; description matches close.
        var window = TitleSearch.RankWindow;
        Assert.All(all.Take(window - 3), id => Assert.StartsWith("title-", id, StringComparison.Ordinal));
        Assert.Equal(["tag-0", "tag-1", "tag-2"], all.Skip(window - 3).Take(3).Order());
        Assert.All(all.Skip(window).Take(titleMatches - window + 3), id => Assert.StartsWith("title-", id, StringComparison.Ordinal));
        Assert.Equal(["desc-4", "desc-3", "desc-2", "desc-1", "desc-0"], all.TakeLast(5));
    }

    /// <summary>
    /// More titles than PostgreSQL's search walks from the newest (<see cref="PostgresSearchIndex.WalkedRows"/>):
    /// matches among the newest and among the older titles come together, newest first, with filters,
    /// in titles, tags and descriptions.
    /// </summary>
    [Fact]
    public async Task MatchesOlderThanTheNewestWalkedTitles_AreFoundToo_NewestFirst()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        var count = PostgresSearchIndex.WalkedRows + 808;
        var titles = Enumerable.Range(0, count).Select(i => new TitleUpdate
        {
            Id = $"h{i:D5}",
            Status = TitleStatus.Published,
            Title = i % 500 == 0 ? $"Harbour alpha {i}" : $"Harbour boat {i}",
            Description = i % 1000 == 7 ? "Entries in the ledger" : "Boats at dusk",
            Tags = i % 1000 == 0 ? ["sea", "even"] : i < 40 ? ["sea", "rare"] : ["sea", "calm"], // as many tags each: BM25 counts them
        }).ToList();
        var store = origin.Role.Services.GetRequiredService<PublishedTitles>();
        foreach (var batch in titles.Chunk(3000))
        {
            await store.ImportAsync(batch, CancellationToken.None);
        }

        static List<string> Newest(IEnumerable<int> indexes) => [.. indexes.OrderDescending().Select(i => $"h{i:D5}")];
        var all = Enumerable.Range(0, count);
        Assert.Equal(Newest(all.Where(i => i % 500 == 0)), await IdsAsync(origin, "q=alpha&limit=100"));
        Assert.Equal(Newest(all.Where(i => i % 1000 == 0)), await IdsAsync(origin, "q=alpha&tag=even&limit=100"));
        Assert.Equal(Newest(all.Where(i => i % 1000 == 7)), await IdsAsync(origin, "q=ledger&limit=100"));
        Assert.Equal(Newest(all.Where(i => i is > 0 and < 40)), await IdsAsync(origin, "q=rare&limit=100"));
        Assert.Equal(Newest(all.Where(i => i is > 0 and < 40)), await IdsAsync(origin, "q=boat&tag=rare&limit=100"));
        Assert.Equal(Newest(all.Where(i => i % 500 != 0).TakeLast(20)), await IdsAsync(origin, "q=harbour+boat&limit=20"));
    }

    [Fact]
    public async Task TextQueries_HonourFiltersAndOtherSortOrders()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        await origin.PublishAsync("short-walk", "Canal walk", "Ten minutes by the water", ["walk"], duration: 600);
        await origin.PublishAsync("long-walk", "Mountain walk", "A whole day on the ridge", ["walk", "hiking"], duration: 20_000);
        await origin.PublishAsync("talk", "Walking tour talk", "Notes from the canal", ["talk"], duration: 1200);

        Assert.Equal(["talk", "long-walk", "short-walk"], await IdsAsync(origin, "q=walk&sort=recent"));
        Assert.Equal(["long-walk"], await IdsAsync(origin, "q=walk&tag=Hiking"));
        Assert.Equal(["short-walk", "talk"], (await IdsAsync(origin, "q=canal&maxDuration=1500")).Order());
        Assert.Equal(["talk"], await IdsAsync(origin, "q=canal&minDuration=1000&sort=views"));
    }
}

/// <summary>SQLite's FTS5 index, and the upgrade from its trigram index.</summary>
public sealed class SqliteSearchIndexTests : SearchIndexTests
{
    protected override CatalogEngine Engine => CatalogEngine.Sqlite;

    [Fact]
    public async Task ACatalogAtVersion3_UpgradesInPlace_AndItsTitlesStaySearchableAndEditable()
    {
        using var directory = new TempDirectory("oc-catalog-upgrade");
        using (var connection = new SqliteConnection($"Data Source={directory.Combine("catalog.db")};Pooling=False"))
        {
            connection.Open();
            CatalogSchema.Migrate(connection, 3);

            // Rows as version 3 wrote them: the title, its trigram-index row, its tags and vocabulary.
            using var transaction = connection.BeginTransaction();
            using (var insert = connection.CreateCommand())
            {
                insert.Transaction = transaction;
                insert.CommandText = """
                    INSERT INTO titles (seq, id, title, description, tags, status, renditions, created_at, published_at, updated_at, fold_title, fold_all, poster_url)
                    VALUES (1, 'old-crepes', 'Crêpes Suzette', 'Flambées à l''orange', '["dessert"]', 'published', '[]', 1000, 1000, 1000,
                            'crepes suzette', 'crepes suzette' || char(10) || 'dessert' || char(10) || 'flambees a l''orange', '/v/old-crepes/poster.jpg'),
                           (2, 'old-draft', 'Crêpes draft', '', '[]', 'processing', '[]', 2000, NULL, 2000, 'crepes draft', 'crepes draft', NULL);
                    INSERT INTO titles_fts (rowid, title, tags, description) VALUES (1, 'Crêpes Suzette', 'dessert', 'Flambées à l''orange');
                    INSERT INTO title_tags (seq, tag) VALUES (1, 'dessert');
                    """;
                insert.ExecuteNonQuery();
            }

            SpellingVocabulary.Add(connection, transaction, SqliteSearchIndex.Instance, TextFold.Words("Crêpes Suzette dessert Flambées à l'orange"));
            transaction.Commit();
        }

        await using var origin = await CatalogOrigin.StartInAsync(directory.Path);
        using (var connection = new SqliteConnection($"Data Source={directory.Combine("catalog.db")};Pooling=False"))
        {
            connection.Open();
            using var version = connection.CreateCommand();
            version.CommandText = "SELECT max(version) FROM schema_migrations;";
            Assert.Equal(CatalogSchema.LatestVersion, (long)version.ExecuteScalar()!);
            using var tables = connection.CreateCommand();
            tables.CommandText = "SELECT count(*) FROM sqlite_master WHERE name = 'titles_fts';";
            Assert.Equal(0L, (long)tables.ExecuteScalar()!);
        }

        Assert.Equal("/posters/old-crepes.jpg", (await SearchAsync(origin, "q=crepes")).Items.Single().PosterUrl); // migration 5
        await AssertTheMigratedTitleIsSearchableAndEditableAsync(origin);
    }
}
