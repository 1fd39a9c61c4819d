using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Origin.Catalog.Titles;
using OpenConnect.Testing;

namespace OpenConnect.Origin.Tests.Catalog;

public abstract class ViewCountTests
{
    protected abstract CatalogEngine Engine { get; }

    [Fact]
    public async Task ConcurrentPlays_AreCountedOncePerSession()
    {
        await using var origin = await CatalogOrigin.StartAsync(Engine, "--Origin:Catalog:ViewFlushInterval=00:10:00");
        await origin.PublishAsync("popular", "Popular");
        // 10 clients x 50 posts over 100 distinct sessions: every session is posted 5 times.
        var statuses = await Task.WhenAll(Enumerable.Range(0, 10).Select(async client =>
        {
            var codes = new List<HttpStatusCode>();
            for (var i = 0; i < 50; i++)
            {
                codes.Add((await origin.SendAsync(HttpMethod.Post, "/api/v1/titles/popular/views", null, new { sessionId = $"viewer-{((client * 50) + i) % 100:D4}" })).StatusCode);
            }

            return codes;
        }));
        Assert.All(statuses.SelectMany(c => c), code => Assert.Equal(HttpStatusCode.Accepted, code));

        // Eventually consistent: nothing is visible until the flush.
        Assert.Equal(0, (await origin.Client.GetFromJsonAsync<TitleView>("/api/v1/titles/popular", CatalogOrigin.Json))!.Views);
        var counter = origin.Role.Services.GetRequiredService<ViewCounter>();
        Assert.Equal(100, await counter.FlushAsync(CancellationToken.None));
        Assert.Equal(100, (await origin.Client.GetFromJsonAsync<TitleView>("/api/v1/titles/popular", CatalogOrigin.Json))!.Views);

        // A session already counted is not counted again in a later batch.
        await origin.SendAsync(HttpMethod.Post, "/api/v1/titles/popular/views", null, new { sessionId = "viewer-0007" });
        Assert.Equal(0, await counter.FlushAsync(CancellationToken.None));
        Assert.Equal(100, (await origin.Client.GetFromJsonAsync<TitleView>("/api/v1/titles/popular", CatalogOrigin.Json))!.Views);
    }
}

/// <summary>View counts on SQLite, and what only SQLite has.</summary>
public sealed class SqliteViewCountTests : ViewCountTests
{
    protected override CatalogEngine Engine => CatalogEngine.Sqlite;

    [Fact]
    public async Task ACleanStop_FlushesEveryRecordedPlay()
    {
        using var dir = new TempDirectory("oc-catalog");
        await SeedAsync(dir.Path);
        await using (var origin = await OriginProcess.StartAsync([$"--Origin:DataDirectory={dir.Path}", .. CatalogOrigin.FastSettings, "--Origin:Catalog:ViewFlushInterval=00:10:00"]))
        {
            using var client = origin.CreateClient();
            await PostViewsAsync(client, "clean", 150, duplicates: 2);
            Assert.Equal(0, await origin.StopAsync());
        }

        Assert.Equal(150, await ViewsAfterRestartAsync(dir.Path));
    }

    [Fact]
    public async Task ACrash_LosesAtMostTheLastFlushInterval()
    {
        using var dir = new TempDirectory("oc-catalog");
        await SeedAsync(dir.Path);
        var interval = TimeSpan.FromMilliseconds(500);
        await using (var origin = await OriginProcess.StartAsync([$"--Origin:DataDirectory={dir.Path}", .. CatalogOrigin.FastSettings, $"--Origin:Catalog:ViewFlushInterval={interval}"]))
        {
            using var client = origin.CreateClient();
            await PostViewsAsync(client, "early", 200, duplicates: 2);
            // Plays older than one flush interval are on disk...
            await Task.Delay(interval * 3);
            // ...those of the last interval may not be: SIGKILL right after them.
            await PostViewsAsync(client, "late", 100, duplicates: 1);
            await origin.KillAsync();
        }

        var views = await ViewsAfterRestartAsync(dir.Path);
        Assert.InRange(views, 200, 300);
    }

    private static async Task SeedAsync(string dataDirectory)
    {
        await using var origin = await CatalogOrigin.StartInAsync(dataDirectory);
        await origin.PublishAsync("counted", "Counted");
    }

    private static async Task PostViewsAsync(HttpClient client, string prefix, int sessions, int duplicates)
    {
        var work = Enumerable.Range(0, sessions * duplicates).Select(i => $"{prefix}-session-{i % sessions:D5}").ToArray();
        await Parallel.ForEachAsync(work, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (session, ct) =>
        {
            var response = await client.PostAsJsonAsync("/api/v1/titles/counted/views", new { sessionId = session }, ct);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        });
    }

    private static async Task<long> ViewsAfterRestartAsync(string dataDirectory)
    {
        await using var origin = await CatalogOrigin.StartInAsync(dataDirectory);
        return (await origin.Client.GetFromJsonAsync<TitleView>("/api/v1/titles/counted", CatalogOrigin.Json))!.Views;
    }
}

/// <summary>View counts on PostgreSQL.</summary>
public sealed class PostgresViewCountTests : ViewCountTests
{
    protected override CatalogEngine Engine => CatalogEngine.PostgreSql;
}
