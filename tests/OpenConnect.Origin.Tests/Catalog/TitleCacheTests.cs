using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Origin.Catalog.Titles;

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

/// <summary>The title cache on PostgreSQL.</summary>
public sealed class PostgresTitleCacheTests : TitleCacheTests
{
    protected override CatalogEngine Engine => CatalogEngine.PostgreSql;
}
