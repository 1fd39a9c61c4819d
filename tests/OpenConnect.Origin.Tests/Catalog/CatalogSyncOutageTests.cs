using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenConnect.Origin.Catalog.Titles;
using OpenConnect.Testing.Postgres;
using PipelineTitles = OpenConnect.Origin.Pipeline.Jobs.JobStore;

namespace OpenConnect.Origin.Tests.Catalog;

/// <summary>The catalog's PostgreSQL killed and restarted under a running origin: the origin stays up and the catalog catches up.</summary>
public sealed class CatalogSyncOutageTests
{
    [Fact]
    public async Task ATitleChangedWhileTheCatalogIsDown_ReachesItAfterTheRestart_AndTheOriginStaysUp()
    {
        await using var server = await PostgresServer.StartAsync();
        await using var database = await TestDatabase.CreateOnAsync(server.ConnectionString);
        await using var origin = await CatalogOrigin.StartAsync(CatalogOrigin.PostgresSettings(database.ConnectionString));
        var pipeline = origin.Role.Services.GetRequiredService<PipelineTitles>();
        var lifetime = origin.Role.Services.GetRequiredService<IHostApplicationLifetime>();
        Publish(pipeline, "before", "Before the outage");
        await WaitForTitleAsync(origin, "before", TimeSpan.FromSeconds(20));

        await server.KillAsync();
        Publish(pipeline, "during", "Published during the outage");
        // Long enough for the first forwarding attempts to fail (and to be retried, not dropped).
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.False(lifetime.ApplicationStopping.IsCancellationRequested, "the origin stopped when the catalog database went away");

        await server.RestartAsync();
        var view = await WaitForTitleAsync(origin, "during", TimeSpan.FromSeconds(60));
        Assert.Equal(("Published during the outage", TitleStatus.Published), (view.Title, view.Status));
        Assert.False(lifetime.ApplicationStopping.IsCancellationRequested);
    }

    private static void Publish(PipelineTitles pipeline, string id, string title)
    {
        pipeline.Insert(id, "upload-" + id, OpenConnect.Origin.Pipeline.TitleStates.Processing, null, new Dictionary<string, string> { ["title"] = title }, "/nonexistent", null, null);
        pipeline.SetState(id, OpenConnect.Origin.Pipeline.TitleStates.Published, published: true);
    }

    private static async Task<TitleView> WaitForTitleAsync(CatalogOrigin origin, string id, TimeSpan bound)
    {
        var deadline = DateTime.UtcNow + bound;
        while (true)
        {
            using (var response = await origin.Client.GetAsync($"/api/v1/titles/{id}"))
            {
                if (response.StatusCode == HttpStatusCode.OK && (await response.Content.ReadFromJsonAsync<TitleView>(CatalogOrigin.Json)) is { Status: TitleStatus.Published } view)
                {
                    return view;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, $"title '{id}' did not reach the catalog within {bound.TotalSeconds} s");
            await Task.Delay(100);
        }
    }
}
