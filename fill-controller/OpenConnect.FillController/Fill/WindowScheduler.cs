using Microsoft.Extensions.Options;
using OpenConnect.FillController.State;

namespace OpenConnect.FillController.Fill;

/// <summary>
/// Opens each site's fill when its window starts, by the host's <see cref="TimeProvider"/>: every
/// <c>FillController:Fill:CheckInterval</c> it looks at every known site (configured, or seen in
/// steering's roster) and opens the ones whose window contains now and has not been opened for
/// that day. A controller that was down at the window's start opens it late, within the window;
/// one that was down for a whole window skips it, and its appliances keep the previous manifest.
/// A check that fails in part (steering unreachable, a site that cannot be planned) does that part
/// again at the next check.
/// Only the planner does this (<see cref="PlannerLease"/>): a standby on the same database checks
/// whether it can take over, and otherwise leaves the windows to the planner.
/// </summary>
public sealed class WindowScheduler(FillCoordinator coordinator, FillStore store, PlannerLease planner, IOptions<FillControllerOptions> options, TimeProvider time, ILogger<WindowScheduler> logger) : BackgroundService
{
    private long _checkedUtcTicks = DateTimeOffset.MinValue.UtcTicks;

    /// <summary>
    /// The clock reading of the last pass that completed every check. A pass reads the clock first,
    /// before the roster and the store, so everything it acted on is at least as new as this reading;
    /// a pass in which a step failed (the roster could not be read, a site could not be opened,
    /// overdue copies could not be released) does not count: the next check does that work again.
    /// Tests moving a fake clock wait until this reaches the new time: a pass merely ending after the
    /// move may have read the roster before the appliances it should plan for registered.
    /// </summary>
    public DateTimeOffset LastCheckedAt => new(Interlocked.Read(ref _checkedUtcTicks), TimeSpan.Zero);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await CheckAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                FillLog.CheckFailed(logger, ex);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            try
            {
                await Task.Delay(options.Value.Fill.CheckInterval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>One pass: opens every site whose window contains now and has not been opened for its day.</summary>
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        // Read before the roster and the store (see LastCheckedAt); a window that opens while the
        // roster is being read is opened by the next check.
        var now = time.GetUtcNow();
        if (!planner.TryHold())
        {
            Checked(now);
            return;
        }

        var complete = true;
        var sites = new SortedSet<string>(coordinator.ConfiguredSites, StringComparer.Ordinal);
        try
        {
            foreach (var appliance in await coordinator.RosterAsync(cancellationToken).ConfigureAwait(false))
            {
                sites.Add(appliance.Site);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            FillLog.RosterFailed(logger, ex);
            complete = false;
        }

        foreach (var site in sites)
        {
            var window = coordinator.WindowOf(site).Next(now);
            if (!window.Contains(now) || store.HasScheduledRun(site, window.Day))
            {
                continue;
            }

            try
            {
                await coordinator.OpenSiteAsync(site, window.Day, window.End, scheduled: true, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                FillLog.SiteOpenFailed(logger, site, ex);
                complete = false;
            }
        }

        try
        {
            await coordinator.ReleaseOverdueAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            FillLog.CheckFailed(logger, ex);
            complete = false;
        }

        if (complete)
        {
            Checked(now);
        }
    }

    private void Checked(DateTimeOffset now) => Interlocked.Exchange(ref _checkedUtcTicks, now.UtcTicks);
}
