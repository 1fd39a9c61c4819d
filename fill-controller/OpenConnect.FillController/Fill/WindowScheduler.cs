using Microsoft.Extensions.Options;
using OpenConnect.FillController.State;

namespace OpenConnect.FillController.Fill;

/// <summary>
/// Opens each site's fill when its window starts, by the host's <see cref="TimeProvider"/>: every
/// <c>FillController:Fill:CheckInterval</c> it looks at every known site (configured, or seen in
/// steering's roster) and opens the ones whose window contains now and has not been opened for
/// that day. A controller that was down at the window's start opens it late, within the window;
/// one that was down for a whole window skips it, and its appliances keep the previous manifest.
/// Only the planner does this (<see cref="PlannerLease"/>): a standby on the same database checks
/// whether it can take over, and otherwise leaves the windows to the planner.
/// </summary>
public sealed class WindowScheduler(FillCoordinator coordinator, FillStore store, PlannerLease planner, IOptions<FillControllerOptions> options, TimeProvider time, ILogger<WindowScheduler> logger) : BackgroundService
{
    private long _checkedUtcTicks = DateTimeOffset.MinValue.UtcTicks;

    /// <summary>
    /// The clock reading the last completed pass acted on (tests moving a fake clock wait until a
    /// pass has seen the new time; a pass counted by number could have read the clock before it moved).
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
        if (!planner.TryHold())
        {
            Interlocked.Exchange(ref _checkedUtcTicks, time.GetUtcNow().UtcTicks);
            return;
        }

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
        }

        var now = time.GetUtcNow();
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
            }
        }

        try
        {
            await coordinator.ReleaseOverdueAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            FillLog.CheckFailed(logger, ex);
        }

        Interlocked.Exchange(ref _checkedUtcTicks, now.UtcTicks);
    }
}
