using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OpenConnect.Origin.Catalog.Titles;
using OpenConnect.Origin.Publishing;
using OpenConnect.Origin.Storage;
using OpenConnect.Origin.Tests.Catalog;
using OpenConnect.Testing;
using PipelineTitles = OpenConnect.Origin.Pipeline.Jobs.JobStore;

namespace OpenConnect.Origin.Tests.Publishing;

public sealed class TakedownTests
{
    [Fact]
    public void TitleTakedowns_PersistEveryChange_AndADeletedTitleStaysDeleted()
    {
        using var state = new TempDirectory("oc-takedowns");
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-07T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var takedowns = new TitleTakedowns(state.Path, time);
        var changed = new List<string>();
        takedowns.Changed += changed.Add;

        Assert.Equal(TitleTakedowns.Unpublished, takedowns.TakeDown("t1", TitleTakedowns.Unpublished).Reason);
        Assert.Equal(TitleTakedowns.Deleted, takedowns.TakeDown("t1", TitleTakedowns.Deleted).Reason);
        // Unpublishing a deleted title changes nothing, and lifting it is refused: its files are gone.
        Assert.Equal(TitleTakedowns.Deleted, takedowns.TakeDown("t1", TitleTakedowns.Unpublished).Reason);
        Assert.Contains("cannot be republished", Assert.Throws<InvalidOperationException>(() => takedowns.Lift("t1")).Message, StringComparison.Ordinal);
        takedowns.TakeDown("t2", TitleTakedowns.Unpublished);
        Assert.Equal(["t1", "t1", "t2"], changed);

        var reloaded = new TitleTakedowns(state.Path, time);
        Assert.Equal([("t1", TitleTakedowns.Deleted), ("t2", TitleTakedowns.Unpublished)], reloaded.List().Select(e => (e.TitleId, e.Reason)));
        Assert.True(reloaded.Lift("t2"));
        Assert.False(reloaded.Lift("t2"));
        Assert.False(new TitleTakedowns(state.Path, time).IsTakenDown("t2"));
        Assert.Throws<ArgumentException>(() => reloaded.TakeDown("../etc", TitleTakedowns.Deleted));

        File.WriteAllText(Path.Combine(state.Path, TitleTakedowns.FileName), "[{\"titleId\":\"t1\",\"reason\":\"gone\"}]");
        Assert.Contains("not valid", Assert.Throws<InvalidOperationException>(() => new TitleTakedowns(state.Path, time)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AdminDelete_RemovesTheFiles_Answers410_AndTakesTheTitleOutOfTheCatalog()
    {
        await using var origin = await CatalogOrigin.StartAsync();
        await PublishPipelineTitleAsync(origin, "doomed", "Doomed harbour film");
        var admin = await origin.AdminTokenAsync();
        var (viewer, _) = await origin.UserAsync("viewer1");

        using (var refused = await origin.SendAsync(HttpMethod.Delete, "/api/v1/titles/doomed", viewer))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        using (var unknown = await origin.SendAsync(HttpMethod.Delete, "/api/v1/titles/nothing-here", admin))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }

        using (var deleted = await origin.SendAsync(HttpMethod.Delete, "/api/v1/titles/doomed", admin))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
            var view = await deleted.Content.ReadFromJsonAsync<TakedownView>(CatalogOrigin.Json);
            Assert.Equal(("doomed", "deleted", true), (view!.TitleId, view.Reason, view.FilesDeleted));
        }

        Assert.False(origin.Role.Services.GetRequiredService<IObjectStore>().IsPublished("doomed"));
        using (var parent = await origin.Client.GetAsync("/v/doomed/master.m3u8"))
        {
            Assert.Equal(HttpStatusCode.Gone, parent.StatusCode);
            Assert.Contains("taken down (deleted)", await parent.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var read = await origin.Client.GetAsync("/api/v1/titles/doomed"))
        {
            Assert.Equal(HttpStatusCode.Gone, read.StatusCode);
        }

        await EventuallyAsync(async () => !(await ListedAsync(origin, "/api/v1/titles")).Contains("doomed") && !(await ListedAsync(origin, "/api/v1/search?q=harbour")).Contains("doomed"));

        using var republish = await origin.SendAsync(HttpMethod.Delete, "/api/v1/titles/doomed/takedown", admin);
        Assert.Equal(HttpStatusCode.Conflict, republish.StatusCode);
        using var list = await origin.SendAsync(HttpMethod.Get, "/api/v1/takedowns", admin);
        Assert.Contains("\"doomed\"", await list.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unpublish_HidesTheTitleButKeepsItsFiles_AndRepublishBringsItBack()
    {
        await using var origin = await CatalogOrigin.StartAsync();
        await PublishPipelineTitleAsync(origin, "held", "Held back lighthouse");
        var admin = await origin.AdminTokenAsync();

        using (var unpublished = await origin.SendAsync(HttpMethod.Put, "/api/v1/titles/held/takedown", admin))
        {
            Assert.Equal(HttpStatusCode.OK, unpublished.StatusCode);
        }

        Assert.True(origin.Role.Services.GetRequiredService<IObjectStore>().IsPublished("held"));
        using (var parent = await origin.Client.GetAsync("/v/held/master.m3u8"))
        {
            Assert.Equal(HttpStatusCode.Gone, parent.StatusCode);
        }

        await EventuallyAsync(async () => !(await ListedAsync(origin, "/api/v1/titles")).Contains("held"));

        using (var republished = await origin.SendAsync(HttpMethod.Delete, "/api/v1/titles/held/takedown", admin))
        {
            Assert.Equal(HttpStatusCode.NoContent, republished.StatusCode);
        }

        using (var parent = await origin.Client.GetAsync("/v/held/master.m3u8"))
        {
            Assert.Equal(HttpStatusCode.OK, parent.StatusCode);
        }

        await EventuallyAsync(async () => (await ListedAsync(origin, "/api/v1/titles")).Contains("held") && (await ListedAsync(origin, "/api/v1/search?q=lighthouse")).Contains("held"));
        using var again = await origin.SendAsync(HttpMethod.Delete, "/api/v1/titles/held/takedown", admin);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    /// <summary>A title as the pipeline leaves it: a published pipeline record (the catalog follows it) and its package in the object store.</summary>
    private static async Task PublishPipelineTitleAsync(CatalogOrigin origin, string id, string title)
    {
        var services = origin.Role.Services;
        var pipeline = services.GetRequiredService<PipelineTitles>();
        pipeline.Insert(id, "upload-" + id, OpenConnect.Origin.Pipeline.TitleStates.Processing, null, new Dictionary<string, string> { ["title"] = title }, "/nonexistent", null, null);
        using var staging = new TempDirectory("oc-takedown-package");
        var package = staging.Combine(id);
        await PackagedTitle.CopyToAsync(package);
        await services.GetRequiredService<IObjectStore>().PublishAsync(id, package, CancellationToken.None);
        pipeline.SetState(id, OpenConnect.Origin.Pipeline.TitleStates.Published, published: true);
        await EventuallyAsync(async () => (await ListedAsync(origin, "/api/v1/titles")).Contains(id));
    }

    private static async Task<List<string>> ListedAsync(CatalogOrigin origin, string path)
    {
        using var page = JsonDocument.Parse(await origin.Client.GetStringAsync(path));
        return [.. page.RootElement.GetProperty("items").EnumerateArray().Select(t => t.GetProperty("id").GetString()!)];
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the catalog did not follow within 10 s");
            await Task.Delay(50);
        }
    }
}

public sealed class TakedownReportingOptionsTests
{
    [Theory]
    [InlineData("http://127.0.0.1:8280", "", "Fleet:SteeringControlUrl")]
    [InlineData("https://127.0.0.1:8280/x", "", "Fleet:SteeringControlUrl")]
    [InlineData("https://127.0.0.1:8280", "", "Fleet:CertificateFile")]
    [InlineData("", "00:00:00.01", "Fleet:TakedownRetryInterval")]
    public void SteeringControlUrl_IsHttpsWithTheFleetFiles_AndIntervalsAreBounded(string url, string retry, string key)
    {
        var options = new OriginFleetOptions { SteeringControlUrl = url };
        if (retry.Length > 0)
        {
            options.TakedownRetryInterval = TimeSpan.Parse(retry, System.Globalization.CultureInfo.InvariantCulture);
        }

        var check = new OpenConnect.Hosting.OptionsCheck("Origin");
        options.Validate(check);
        Assert.Contains(check.Errors, e => e.Contains(key, StringComparison.Ordinal));
    }

    [Fact]
    public void NothingSet_IsValid() => Assert.Empty(Validate(new OriginFleetOptions()));

    private static IReadOnlyList<string> Validate(OriginFleetOptions options)
    {
        var check = new OpenConnect.Hosting.OptionsCheck("Origin");
        options.Validate(check);
        return check.Errors;
    }
}
