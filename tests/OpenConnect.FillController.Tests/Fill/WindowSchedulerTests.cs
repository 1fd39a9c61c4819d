using Microsoft.Extensions.DependencyInjection;
using OpenConnect.FillController.Fill;
using OpenConnect.FillController.Placement;
using OpenConnect.Steering.ControlPlane;
using OpenConnect.Testing;

namespace OpenConnect.FillController.Tests.Fill;

/// <summary>
/// What counts as a window check when the clock moves (<see cref="WindowScheduler.LastCheckedAt"/>,
/// which <see cref="FillStack.MoveClockToAsync"/> waits on): only a pass that read the roster after
/// the clock reading it acts on, and that completed every check. A pass that was reading the roster
/// when an appliance registered and the clock moved, or that could not open a site, is followed by
/// another check, and the site's night is opened with the appliance's manifest.
/// </summary>
public sealed class WindowSchedulerTests
{
    private static readonly FileId R0 = new("t1", "r0");
    private static readonly DateTimeOffset Window = FillStack.Noon.AddHours(14).AddMinutes(1);

    [Fact]
    public async Task APassThatReadTheRosterBeforeTheApplianceRegistered_DoesNotCountForTheClockMovedMeanwhile_AndTheNextPassOpensTheSite()
    {
        var title = new SyntheticTitle("t1", ["r0"], 2, 10_000, 51);
        await using var origin = await TestParent.StartAsync();
        title.PublishTo(origin);
        var plan = new FixedPlan();
        plan.Set(("oca-1", [R0]));
        // The controller reads steering's roster through a relay that can hold steering's answers.
        await using var relay = GatedRelay.Start();
        await using var stack = await FillStack.StartAsync(origin.BaseAddress.ToString(), plan, $"--FillController:Fill:SteeringControlUrl=https://127.0.0.1:{relay.Port}");
        relay.ForwardTo(stack.SteeringControl);
        var scheduler = stack.Controller.Services.GetRequiredService<WindowScheduler>();
        await Eventually.TrueAsync(() => Task.FromResult(scheduler.LastCheckedAt == FillStack.Noon), "the first pass at noon");

        // A pass reads the roster before oca-1 has registered; steering's answer is held on its way back.
        relay.Hold();
        stack.Time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(() => Task.FromResult(relay.HeldBytes > 0), "steering's roster answer held");
        var appliance = stack.Own(await RunningRole.StartAsync(OpenConnect.Appliance.ApplianceHost.Build, stack.ApplianceSettings("oca-1", "isp1")));
        var registry = stack.Steering.Services.GetRequiredService<ApplianceRegistry>();
        await Eventually.TrueAsync(() => Task.FromResult(registry.Find("oca-1") is not null), "oca-1 registered with steering");

        // The clock moves into the window while that pass waits for its roster, which then arrives.
        var moved = stack.MoveClockToAsync(Window);
        relay.Release();
        await moved;

        // The pass with the old roster did not count: the clock move waited for one that saw oca-1.
        var store = stack.Controller.Services.GetRequiredService<FillStore>();
        Assert.NotNull(store.LatestManifest("oca-1"));
        Assert.Equal(1, plan.Plans);
        await stack.WaitUntilLiveAsync("t1");
        Assert.True(appliance.Services.GetRequiredService<OpenConnect.Appliance.Fill.FillAgent>().ManifestVersion > 0);
    }

    [Fact]
    public async Task ASiteThatCouldNotBeOpened_IsOpenedByTheNextCheck_AndTheClockMoveWaitsForIt()
    {
        var title = new SyntheticTitle("t1", ["r0"], 2, 10_000, 52);
        await using var origin = await TestParent.StartAsync();
        title.PublishTo(origin);
        var plan = new FixedPlan();
        plan.Set(("oca-1", [R0]));
        await using var stack = await FillStack.StartAsync(origin.BaseAddress.ToString(), plan);
        stack.Own(await stack.StartApplianceAsync("oca-1"));
        plan.FailNext(1);

        await stack.MoveClockToAsync(Window);

        // The first pass in the window could not plan the site; the one the clock move waited for did.
        var store = stack.Controller.Services.GetRequiredService<FillStore>();
        Assert.NotNull(store.LatestManifest("oca-1"));
        Assert.Equal(1, plan.Plans);
        Assert.True(stack.Controller.Services.GetRequiredService<WindowScheduler>().LastCheckedAt > Window, "the check that opened the site came after the one that failed");
        await stack.WaitUntilLiveAsync("t1");
    }
}
