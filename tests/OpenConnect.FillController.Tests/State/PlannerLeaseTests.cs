using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using OpenConnect.FillController.Fill;
using OpenConnect.FillController.Placement;
using OpenConnect.FillController.State;
using OpenConnect.FillController.Tests.Fill;
using OpenConnect.Hosting.Database;
using OpenConnect.Testing;
using Prometheus;

namespace OpenConnect.FillController.Tests.State;

/// <summary>
/// Fill controllers sharing one PostgreSQL database: one plans (it holds the planner lock), the others
/// stand by, and a standby takes over once the planner's session ends.
/// </summary>
public sealed class PlannerLeaseTests
{
    private static readonly DateTimeOffset Window = FillStack.Noon.AddHours(14).AddMinutes(1);

    [Fact]
    public async Task OneLeaseHoldsAtATime_AndAStandbyTakesItWhenTheHoldersSessionEnds()
    {
        await using var state = await TestState.CreateAsync(DatabaseProvider.PostgreSql);
        FillStore.Migrate(state.Open());
        using var first = Lease(state);
        using var second = Lease(state);

        Assert.True(first.TryHold());
        Assert.True(first.TryHold());
        Assert.False(second.TryHold());

        // The server ends the planner's session (a restart, a network cut): the lock goes with it.
        EndPlannerSession(state);
        Assert.True(second.TryHold());
        Assert.False(first.TryHold());

        // A planner that stops hands over at once.
        second.Dispose();
        Assert.True(first.TryHold());
    }

    [Fact]
    public void WithSqlite_TheOneProcessPlans()
    {
        using var dir = new TempDirectory("openconnect-fill-lease");
        using var lease = new PlannerLease(StateDatabase.Sqlite(dir.Path), NullLogger<PlannerLease>.Instance, Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()));
        Assert.True(lease.TryHold());
    }

    [Fact]
    public async Task TwoControllersOnOneDatabase_OnlyThePlannerOpensTheNight_AndTheStandbyTakesOver()
    {
        await using var state = await TestState.CreateAsync(DatabaseProvider.PostgreSql);
        var title = new SyntheticTitle("t1", ["r0"], 2, 20_000, 9);
        await using var origin = await TestParent.StartAsync();
        title.PublishTo(origin);
        origin.Put("/api/v1/titles", Encoding.UTF8.GetBytes("""{"items":[],"nextCursor":null}"""));
        var plan = new FixedPlan();
        plan.Set(("oca-1", [new FileId("t1", "r0")]));
        await using var stack = await FillStack.StartAsync(origin.BaseAddress.ToString(), plan, state.Settings);
        stack.Own(await stack.StartApplianceAsync("oca-1"));
        // The first controller's scheduler took the lock at its first pass; this one stands by.
        await stack.MoveClockToAsync(FillStack.Noon.AddHours(1));
        await using var standby = await stack.StartAnotherControllerAsync();
        using var standbyOperator = stack.ControlClient(standby, stack.OperatorCertificate);

        var refused = await standbyOperator.PostAsync("/fill/sites/isp1/open", null);
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("standby", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, (await standby.MetricsAsync()).Value("openconnect_fill_planner"));
        Assert.Equal(1, (await stack.Controller.MetricsAsync()).Value("openconnect_fill_planner"));

        // Night: both schedulers pass inside the window; one plan goes out.
        await stack.MoveClockToAsync(Window);
        var standbyScheduler = standby.Services.GetRequiredService<WindowScheduler>();
        await Eventually.TrueAsync(() =>
        {
            if (standbyScheduler.LastCheckedAt < Window)
            {
                stack.Time.Advance(TimeSpan.FromSeconds(1));
                return Task.FromResult(false);
            }

            return Task.FromResult(true);
        }, "a pass of the standby's scheduler in the window");
        await stack.WaitUntilLiveAsync("t1");
        Assert.Equal(1, plan.Plans);

        // The planner's session ends: the standby plans the next "fill now", the first is refused.
        EndPlannerSession(state);
        Assert.Equal(HttpStatusCode.OK, (await standbyOperator.PostAsync("/fill/sites/isp1/open", null)).StatusCode);
        Assert.Equal(2, plan.Plans);
        Assert.Equal(HttpStatusCode.Conflict, (await stack.Http.PostAsync("/fill/sites/isp1/open", null)).StatusCode);
    }

    private static PlannerLease Lease(TestState state) =>
        new(state.Open(), NullLogger<PlannerLease>.Instance, Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()));

    /// <summary>Ends, from the server side, the session holding the planner lock on the test's database, and waits until it has gone.</summary>
    private static void EndPlannerSession(TestState state)
    {
        var ended = state.Scalar(FillStore.SqliteFile, $"""
            SELECT COUNT(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM pg_locks
            WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND classid = {PlannerLease.LockKey >> 32} AND objid = {PlannerLease.LockKey & 0xFFFFFFFF} AND objsubid = 1
            """);
        Assert.Equal(1, ended);
    }
}
