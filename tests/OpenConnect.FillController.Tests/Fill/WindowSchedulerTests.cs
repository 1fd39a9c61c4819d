using Microsoft.Extensions.DependencyInjection;
using OpenConnect.FillController.Fill;
using OpenConnect.FillController.Placement;
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

    /// <summary>Nothing listens here: the placement is the test's, and nothing is fetched.</summary>
    private const string NoOrigin = "http://127.0.0.1:9";

    [Fact]
    public async Task APassThatReadTheRosterBeforeTheApplianceRegistered_DoesNotCountForTheClockMovedMeanwhile_AndTheNextPassOpensTheSite()
    {
        var plan = new FixedPlan();
        plan.Set(("oca-1", [R0]));
        // The controller reads steering's roster through a relay that can hold steering's answers.
        await using var relay = GatedRelay.Start();
        await using var stack = await FillStack.StartAsync(NoOrigin, plan, $"--FillController:Fill:SteeringControlUrl=https://127.0.0.1:{relay.Port}");
        relay.ForwardTo(stack.SteeringControl);
        var scheduler = stack.Controller.Services.GetRequiredService<WindowScheduler>();
        await StepUntilAsync(stack, () => scheduler.LastCheckedAt >= FillStack.Noon, "a complete pass before the window");

        // A pass reads the roster before oca-1 has registered; steering's answer is held on its way back.
        relay.Hold();
        await StepUntilAsync(stack, () => relay.HeldBytes > 0, "steering's roster answer held");
        using var certificate = stack.Fleet.Issue("openconnect://appliance/isp1/oca-1");
        await stack.RegisterApplianceAsync(certificate, "oca-1");

        // The clock moves into the window while that pass waits for its roster, which then arrives.
        var moved = stack.MoveClockToAsync(Window);
        relay.Release();
        await moved;

        // The pass with the old roster did not count: the clock move waited for one that saw oca-1.
        var store = stack.Controller.Services.GetRequiredService<FillStore>();
        Assert.NotNull(store.LatestManifest("oca-1"));
        Assert.Equal(1, plan.Plans);
        Assert.True(store.HasScheduledRun("isp1", DateOnly.FromDateTime(Window.UtcDateTime)));
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

    /// <summary>
    /// Waits for <paramref name="condition"/>, stepping the controller's clock by a second each second
    /// meanwhile: a pass that armed its wait just after a step, or did not complete, waits for the next.
    /// </summary>
    private static Task StepUntilAsync(FillStack stack, Func<bool> condition, string what)
    {
        var stepAt = DateTime.MinValue;
        return Eventually.TrueAsync(() =>
        {
            if (condition())
            {
                return Task.FromResult(true);
            }

            if (DateTime.UtcNow >= stepAt)
            {
                stack.Time.Advance(TimeSpan.FromSeconds(1));
                stepAt = DateTime.UtcNow.AddSeconds(1);
            }

            return Task.FromResult(false);
        }, what);
    }
}
