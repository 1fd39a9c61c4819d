using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OpenConnect.Origin.Catalog;
using OpenConnect.Origin.Catalog.Titles;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Catalog;

/// <summary>
/// How title rows leave SQLite (one packed JSON array per row) and the settings of the catalog's
/// connections: every field survives the packing, on the title endpoint, in search and in lists.
/// </summary>
public abstract class TitleRowTests
{
    protected abstract CatalogEngine Engine { get; }

    [Fact]
    public async Task EveryField_SurvivesThePackedRow_InTheTitleEndpoint_SearchAndLists()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        var (_, uploader) = await origin.UserAsync("packer", "uploader");
        var update = new TitleUpdate
        {
            Id = "packed-1",
            Status = TitleStatus.Published,
            UploaderId = uploader.Id,
            ChannelId = null,
            Title = "Crème brûlée \"quoted\" <b>tags</b> & \\ backslash \u2028 line",
            Description = "Ünïcödé, emoji \U0001F3AC, tab\tand newline\n, nul-free",
            Tags = ["zürich", "a \"b\"", "c\\d"],
            DurationSeconds = 0.1 + 0.2, // 0.30000000000000004: needs all 17 digits to round-trip
            HlsManifestUrl = "/v/packed-1/master.m3u8",
            DashManifestUrl = null,
            Renditions = [new RenditionInfo("1080p-hevc", 1920, 1080, "hevc", 4_999_999_999), new RenditionInfo("audio", 0, 0, "aac", 128_000)],
        };
        await origin.Titles.UpsertFromPipelineAsync(update, CancellationToken.None);

        var fromApi = await origin.Client.GetFromJsonAsync<TitleView>("api/v1/titles/packed-1", CatalogOrigin.Json);
        var fromSearch = (await SearchTests.SearchAsync(origin, "q=" + Uri.EscapeDataString("brulee"))).Items.Single();
        var fromList = (await origin.Client.GetFromJsonAsync<Page<TitleView>>("api/v1/titles", CatalogOrigin.Json))!.Items.Single();
        foreach (var view in new[] { fromApi!, fromSearch, fromList })
        {
            Assert.Equal(update.Id, view.Id);
            Assert.Equal(uploader.Id, view.UploaderId);
            Assert.Null(view.ChannelId);
            Assert.Equal(update.Title, view.Title);
            Assert.Equal(update.Description, view.Description);
            Assert.Equal(update.Tags, view.Tags);
            Assert.Equal("published", view.Status);
            Assert.Null(view.FailureReason);
            Assert.Equal(0.1 + 0.2, view.DurationSeconds);
            Assert.Equal(update.Renditions, view.Renditions);
            Assert.Equal(new ManifestUrls("/v/packed-1/master.m3u8", null), view.Manifests);
            Assert.NotNull(view.PublishedAt);
            Assert.True(view.CreatedAt <= view.UpdatedAt);
            Assert.Equal(0, view.Views);
        }

        Assert.Equal(fromApi, fromSearch, TitleViewComparer.Instance);
        Assert.Equal(fromApi, fromList, TitleViewComparer.Instance);
    }

    [Fact]
    public async Task ATitleWithoutDurationOrPublication_ReadsBackAsNulls()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        await origin.Titles.UpsertFromPipelineAsync(new TitleUpdate { Id = "draft-1", Status = TitleStatus.Processing, Title = "Draft" }, CancellationToken.None);

        var view = await origin.Client.GetFromJsonAsync<TitleView>("api/v1/titles/draft-1", CatalogOrigin.Json);
        Assert.NotNull(view);
        Assert.Null(view.DurationSeconds);
        Assert.Null(view.PublishedAt);
        Assert.Empty(view.Renditions);
        Assert.Empty(view.Tags);
    }

    private sealed class TitleViewComparer : IEqualityComparer<TitleView?>
    {
        public static readonly TitleViewComparer Instance = new();

        public bool Equals(TitleView? x, TitleView? y) =>
            x is not null && y is not null && x with { Tags = [], Renditions = [] } == y with { Tags = [], Renditions = [] }
            && x.Tags.SequenceEqual(y.Tags) && x.Renditions.SequenceEqual(y.Renditions);

        public int GetHashCode(TitleView? obj) => obj?.Id.GetHashCode(StringComparison.Ordinal) ?? 0;
    }
}

/// <summary>Title rows read back field by field on SQLite, and what only SQLite has.</summary>
public sealed class SqliteTitleRowTests : TitleRowTests
{
    protected override CatalogEngine Engine => CatalogEngine.Sqlite;

    [Theory]
    [InlineData(null, 1L << 30)]
    [InlineData("--Origin:Catalog:MmapBytes=0", 0L)]
    [InlineData("--Origin:Catalog:MmapBytes=65536", 65536L)]
    public async Task CatalogConnections_MapTheConfiguredBytes(string? setting, long expected)
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine, setting is null ? [] : [setting]);
        var database = origin.Role.Services.GetRequiredService<CatalogDatabase>();
        for (var i = 0; i < 3; i++)
        {
            // The pool hands back the same native connection: the setting must hold on reuse too.
            using var connection = database.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA mmap_size;";
            Assert.Equal(expected, (long)command.ExecuteScalar()!);
        }
    }

    [Fact]
    public async Task MergingTheSearchIndexes_LeavesEveryAnswerAsItWas()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        var words = new[] { "river", "mountain", "bread", "circuit", "violin", "garden" };
        for (var i = 0; i < 60; i++)
        {
            // One transaction per title: one FTS5 segment each before the merge.
            await origin.PublishAsync($"t{i:D2}", $"{words[i % 6]} {words[(i / 6) % 6]} part {i}", $"about {words[(i + 3) % 6]}", [words[(i + 1) % 6]]);
        }

        string[] queries = ["river", "mount", "bread garden", "violn", "about circuit", "part"];
        var before = new List<string[]>();
        foreach (var query in queries)
        {
            before.Add([.. (await SearchTests.SearchAsync(origin, "q=" + Uri.EscapeDataString(query))).Items.Select(t => t.Id)]);
        }

        var database = origin.Role.Services.GetRequiredService<CatalogDatabase>();
        Assert.True(Segments(database, "titles_words") > 1);
        await database.OptimizeSearchAsync(CancellationToken.None);
        Assert.Equal(1, Segments(database, "titles_words"));
        Assert.Equal(1, Segments(database, "titles_text"));

        for (var q = 0; q < queries.Length; q++)
        {
            Assert.NotEmpty(before[q]);
            Assert.Equal(before[q], (await SearchTests.SearchAsync(origin, "q=" + Uri.EscapeDataString(queries[q]))).Items.Select(t => t.Id));
        }
    }

    [Fact]
    public async Task TheSearchIndexes_AreMergedEveryInterval_OnTheHostsClock()
    {
        using var dir = new TempDirectory();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var role = await RunningRole.StartAsync(
            args => OriginHost.Build(args, services => services.AddSingleton<TimeProvider>(time)),
            [$"--Origin:DataDirectory={dir.Path}", .. CatalogOrigin.FastSettings, "--Origin:Catalog:SearchOptimizeInterval=06:00:00"]);
        var titles = role.Services.GetRequiredService<ICatalogTitles>();
        for (var i = 0; i < 20; i++)
        {
            await titles.UpsertFromPipelineAsync(new TitleUpdate { Id = $"m{i}", Status = TitleStatus.Published, Title = $"merge test {i}" }, CancellationToken.None);
        }

        var database = role.Services.GetRequiredService<CatalogDatabase>();
        Assert.True(Segments(database, "titles_words") > 1);

        // The service starts its timer on its own thread, maybe after the first step: step the clock an
        // hour at a time and see when the merge happens (not before the interval, soon after it).
        var hours = 0;
        while (Segments(database, "titles_words") > 1 || Segments(database, "titles_text") > 1)
        {
            Assert.True(hours < 24, "the indexes were not merged within a day of six-hour intervals");
            time.Advance(TimeSpan.FromHours(1));
            hours++;
            for (var wait = 0; wait < 40 && Segments(database, "titles_words") > 1; wait++)
            {
                await Task.Delay(25);
            }
        }

        Assert.InRange(hours, 6, 8);
    }

    /// <summary>Segments of an FTS5 index: the index's leaf segments, from its <c>_idx</c> table (one row per segment and page range).</summary>
    private static long Segments(CatalogDatabase database, string table)
    {
        using var connection = database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(DISTINCT segid) FROM {table}_idx;";
        return (long)command.ExecuteScalar()!;
    }
}

/// <summary>Title rows read back field by field on PostgreSQL.</summary>
public sealed class PostgresTitleRowTests : TitleRowTests
{
    protected override CatalogEngine Engine => CatalogEngine.PostgreSql;
}
