using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Origin.Catalog.Titles;
using OpenConnect.Testing.Postgres;

namespace OpenConnect.Origin.Tests.Catalog;

public abstract class TitleCacheTests
{
    protected abstract CatalogEngine Engine { get; }

    [Fact]
    public async Task HundredConcurrentReads_OfAColdTitle_LoadItOnce_AndAChangeReloadsIt()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine);
        var cache = origin.Role.Services.GetRequiredService<TitleCache>();
        await origin.PublishAsync("hot", "Super Bowl trailer");
        var (fan, _) = await origin.UserAsync("fan");

        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 100 };
        using var client = new HttpClient(handler) { BaseAddress = origin.Role.BaseAddress };
        async Task<TitleView[]> BurstAsync()
        {
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var requests = Enumerable.Range(0, 100).Select(_ => Task.Run(async () =>
            {
                await start.Task;
                var response = await client.GetAsync("/api/v1/titles/hot");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                return (await response.Content.ReadFromJsonAsync<TitleView>(CatalogOrigin.Json))!;
            })).ToArray();
            start.SetResult();
            return await Task.WhenAll(requests);
        }

        var before = cache.Loads;
        var first = await BurstAsync();
        Assert.Equal(1, cache.Loads - before);
        Assert.All(first, t => Assert.Equal("Super Bowl trailer", t.Title));

        Assert.Equal(HttpStatusCode.OK, (await origin.SendAsync(HttpMethod.Put, "/api/v1/titles/hot/rating", fan, new { rating = "like" })).StatusCode);
        var second = await BurstAsync();
        Assert.Equal(2, cache.Loads - before);
        Assert.All(second, t => Assert.Equal(1, t.Likes));

        await origin.PublishAsync("hot", "Super Bowl trailer (extended)");
        Assert.Equal("Super Bowl trailer (extended)", (await client.GetFromJsonAsync<TitleView>("/api/v1/titles/hot", CatalogOrigin.Json))!.Title);
        Assert.Equal(3, cache.Loads - before);

        // Unknown ids are answered 404 and not kept.
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/v1/titles/missing")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/v1/titles/missing")).StatusCode);
        Assert.Equal(5, cache.Loads - before);
    }
}

/// <summary>The title cache on SQLite.</summary>
public sealed class SqliteTitleCacheTests : TitleCacheTests
{
    protected override CatalogEngine Engine => CatalogEngine.Sqlite;
}

/// <summary>The title cache on PostgreSQL, where several origin instances share the catalog.</summary>
public sealed class PostgresTitleCacheTests : TitleCacheTests
{
    protected override CatalogEngine Engine => CatalogEngine.PostgreSql;

    [Fact]
    public async Task AChangeMadeOnOneInstance_DropsTheCachedTitleOfAnother_WithinOneSecond()
    {
        await using var database = await TestDatabase.CreateAsync();
        var settings = CatalogOrigin.PostgresSettings(database.ConnectionString);
        await using var writer = await CatalogOrigin.StartAsync(settings);
        await using var reader = await CatalogOrigin.StartAsync(settings);
        await writer.PublishAsync("shared", "First cut");
        var readerCache = reader.Role.Services.GetRequiredService<TitleCache>();

        Assert.Equal("First cut", (await ReadAsync(reader)).Title);
        Assert.Equal("First cut", (await ReadAsync(reader)).Title);
        Assert.Equal(1, readerCache.Loads); // the second read was a cache hit

        // An edit, a rating and counted plays on the writer each reach the reader's cache.
        var store = writer.Role.Services.GetRequiredService<PublishedTitles>();
        Assert.NotNull(await store.EditAsync("shared", "Final cut", null, null, CancellationToken.None));
        await WithinOneSecondAsync(reader, view => view.Title == "Final cut");

        var (fan, _) = await writer.UserAsync("fan");
        Assert.Equal(HttpStatusCode.OK, (await writer.SendAsync(HttpMethod.Put, "/api/v1/titles/shared/rating", fan, new { rating = "like" })).StatusCode);
        await WithinOneSecondAsync(reader, view => view.Likes == 1);

        Assert.Equal(HttpStatusCode.Accepted, (await writer.SendAsync(HttpMethod.Post, "/api/v1/titles/shared/views", null, new { sessionId = "session-shared-1" })).StatusCode);
        await writer.Role.Services.GetRequiredService<ViewCounter>().FlushAsync(CancellationToken.None);
        await WithinOneSecondAsync(reader, view => view.Views == 1);
    }

    private static async Task<TitleView> ReadAsync(CatalogOrigin origin) =>
        (await origin.Client.GetFromJsonAsync<TitleView>("/api/v1/titles/shared", CatalogOrigin.Json))!;

    private static async Task WithinOneSecondAsync(CatalogOrigin origin, Func<TitleView, bool> changed)
    {
        var clock = Stopwatch.StartNew();
        while (!changed(await ReadAsync(origin)))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"the other instance still serves the old title after {clock.Elapsed.TotalMilliseconds:F0} ms");
            await Task.Delay(20);
        }
    }
}
