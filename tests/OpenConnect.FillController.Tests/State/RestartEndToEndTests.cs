using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.FillController.Fill;
using OpenConnect.FillController.History;
using OpenConnect.FillController.Placement;
using OpenConnect.FillController.Tests.Fill;
using OpenConnect.Hosting.Database;
using OpenConnect.Testing;

namespace OpenConnect.FillController.Tests.State;

/// <summary>
/// A night on real hosts (steering, the fill controller on a fake clock, an appliance, a test parent
/// standing in for the origin), with the controller's state on each engine: history is collected by
/// day, the window opens and the plan is filled; then the controller is replaced by a new process-like
/// host on the same state, which knows the history, the placement, the run and the progress, and
/// neither plans the night again nor sends the appliance anything new to fetch.
/// </summary>
public sealed class RestartEndToEndTests
{
    private static readonly FileId R0 = new("t1", "r0");
    private static readonly DateTimeOffset Window = FillStack.Noon.AddHours(14).AddMinutes(1);

    [Theory]
    [InlineData(DatabaseProvider.Sqlite)]
    [InlineData(DatabaseProvider.PostgreSql)]
    public async Task ARestartedController_KnowsTheNightsHistoryPlacementAndProgress(DatabaseProvider provider)
    {
        await using var state = await TestState.CreateAsync(provider);
        var title = new SyntheticTitle("t1", ["r0", "r1"], 3, 30_000, 5);
        await using var origin = await TestParent.StartAsync();
        title.PublishTo(origin);
        origin.Put("/api/v1/titles", Encoding.UTF8.GetBytes("""{"items":[{"id":"t1","views":40,"publishedAt":"2026-11-01T00:00:00Z"}],"nextCursor":null}"""));
        var plan = new FixedPlan();
        plan.Set(("oca-1", [R0]));
        // A fixed control port: the appliance finds the restarted controller where it left the first.
        await using var stack = await FillStack.StartAsync(origin.BaseAddress.ToString(), plan,
            [.. state.Settings, $"--FillController:Fill:ControlUrl=https://127.0.0.1:{RoleProcess.FreePort()}"]);
        stack.Own(await stack.StartApplianceAsync("oca-1"));

        // Day: players ask steering for the title; the controller collects the plays and the origin's counters.
        using (var players = stack.Steering.CreateClient())
        {
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(HttpStatusCode.OK, (await players.GetAsync("/play/t1")).StatusCode);
            }
        }

        var today = DateOnly.FromDateTime(FillStack.Noon.UtcDateTime);
        await stack.Controller.Services.GetRequiredService<PopularityCollector>().CollectAsync(CancellationToken.None);
        Assert.Equal(5, Assert.Single(stack.Controller.Services.GetRequiredService<PopularityStore>().Plays(today, today)).Plays);
        // From now on the origin lists nothing: what the restarted controller knows of t1's views it kept.
        origin.Put("/api/v1/titles", Encoding.UTF8.GetBytes("""{"items":[],"nextCursor":null}"""));

        // Night: the window opens, the plan goes out, the appliance fills it.
        await stack.MoveClockToAsync(Window);
        await stack.WaitUntilLiveAsync("t1");
        var manifest = stack.Controller.Services.GetRequiredService<FillStore>().LatestManifest("oca-1")!.Version;
        Assert.Equal(1, plan.Plans);
        // Steering read master.m3u8 for the plays too: every file was fetched, and is counted from here.
        var fetched = title.FilePaths("r0").ToDictionary(path => path, origin.RequestsFor);
        Assert.All(fetched.Values, n => Assert.True(n >= 1));

        await stack.RestartControllerAsync();

        // A pass of the new scheduler inside the same window: the night was planned already.
        await stack.MoveClockToAsync(Window.AddMinutes(10));
        Assert.Equal(1, plan.Plans);
        var store = stack.Controller.Services.GetRequiredService<FillStore>();
        Assert.Equal(manifest, store.LatestManifest("oca-1")!.Version);
        Assert.Equal(Window, store.LatestRun("isp1", Window.AddMinutes(10))!.OpenedAt);
        Assert.Equal([R0], store.LoadPlacement("isp1")!.ByAppliance["oca-1"]);
        Assert.Equal("live", await stack.TitleStateAsync("t1"));
        Assert.Equal([new PlannedFile("oca-1", R0, FillStore.Done, "")], store.CurrentFiles("isp1"));

        var history = stack.Controller.Services.GetRequiredService<PopularityStore>();
        Assert.Equal(5, Assert.Single(history.Plays(today, today)).Plays);
        Assert.Equal(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero), history.Titles()["t1"]);

        // The appliance polls the new controller and is sent nothing to fetch again.
        await Task.Delay(1000);
        Assert.All(fetched, file => Assert.Equal(file.Value, origin.RequestsFor(file.Key)));

        var data = stack.State.Combine("fill-controller");
        Assert.Equal(provider == DatabaseProvider.Sqlite, File.Exists(Path.Combine(data, FillStore.SqliteFile)));
        Assert.Equal(provider == DatabaseProvider.Sqlite, File.Exists(Path.Combine(data, PopularityStore.SqliteFile)));
    }
}
