using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using OpenConnect.Launcher.Processes;
using OpenConnect.Testing.Fleet;

namespace OpenConnect.Bench.Fleet;

/// <summary>One thing the chaos runner did, at <see cref="At"/> seconds into the run.</summary>
public sealed record ChaosEvent(double At, string What);

/// <summary>
/// Plays a <see cref="ChaosSchedule"/> on the bed, one incident after the other: wait for its
/// start, break, wait for its end (at least its planned length after the break), repair and, for
/// stopped or killed appliances, wait until they answer <c>/healthz</c> again; only then the next
/// incident (on a loaded machine incidents run late rather than overlap). Every action is logged
/// with the time it happened; a failed action is logged and the schedule goes on. An incident that
/// would start after <c>stopAt</c> is skipped (logged). <paramref name="down"/> runs just after an
/// appliance went down (its counters start again from zero), <paramref name="afterUp"/> once it was
/// started again.
/// </summary>
internal sealed class ChaosRunner(FleetBed bed, Action<string> down, Action<string> afterUp)
{
    private readonly ConcurrentQueue<ChaosEvent> _events = new();
    private readonly SemaphoreSlim _bed = new(1, 1);
    private Stopwatch _clock = Stopwatch.StartNew();

    public IReadOnlyList<ChaosEvent> Events => [.. _events.OrderBy(e => e.At)];

    public async Task RunAsync(IReadOnlyList<ChaosIncident> incidents, Stopwatch clock, double stopAt, CancellationToken cancellationToken)
    {
        _clock = clock;
        foreach (var incident in incidents)
        {
            await UntilAsync(incident.Start, cancellationToken).ConfigureAwait(false);
            if (_clock.Elapsed.TotalSeconds + (incident.End - incident.Start) > stopAt)
            {
                Log($"skipped (the run ends first): {incident.Describe()}");
                continue;
            }

            try
            {
                await IncidentAsync(incident, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or IOException)
            {
                Log($"failed: {incident.Kind} {string.Join(',', incident.Appliances)}: {ex.Message.Split('\n')[0]}");
            }
        }
    }

    /// <summary>Kills steering instance <paramref name="name"/> with SIGKILL at <paramref name="at"/> seconds into the run; it stays down.</summary>
    public async Task KillSteeringAsync(string name, double at, CancellationToken cancellationToken)
    {
        await UntilAsync(at, cancellationToken).ConfigureAwait(false);
        await bed.SteeringInstance(name).KillAsync().ConfigureAwait(false);
        Log($"kill -9 {name} (steering replica; stays down)");
    }

    private async Task IncidentAsync(ChaosIncident incident, CancellationToken cancellationToken)
    {
        var late = _clock.Elapsed.TotalSeconds - incident.Start;
        if (late > 1)
        {
            Log(string.Create(CultureInfo.InvariantCulture, $"{late:F1} s late: {incident.Describe()}"));
        }

        try
        {
            if (incident.Kind == ChaosKind.Partition)
            {
                foreach (var id in incident.Appliances)
                {
                    await bed.PartitionFromSteeringAsync(id).ConfigureAwait(false);
                    Log($"partition {id} from steering");
                }
            }
            else
            {
                await DownAsync(incident.Appliances, kill: incident.Kind == ChaosKind.Kill).ConfigureAwait(false);
            }

            await UntilAsync(Math.Max(incident.End, _clock.Elapsed.TotalSeconds + ((incident.End - incident.Start) / 2)), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (incident.Kind == ChaosKind.Partition)
            {
                foreach (var id in incident.Appliances)
                {
                    await bed.HealAsync(id).ConfigureAwait(false);
                    Log($"heal {id}");
                }
            }
            else
            {
                await Task.WhenAll(incident.Appliances.Select(RestartAsync)).ConfigureAwait(false);
            }
        }
    }

    private async Task DownAsync(IReadOnlyList<string> appliances, bool kill)
    {
        var names = string.Join(", ", appliances);
        if (!kill)
        {
            // A graceful stop takes a while (open connections drain): log when it begins and ends.
            Log("stop (SIGTERM) " + names);
        }

        await Task.WhenAll(appliances.Select(id => kill ? bed.KillApplianceAsync(id) : bed.StopApplianceAsync(id))).ConfigureAwait(false);
        foreach (var id in appliances)
        {
            down(id);
        }

        Log(kill ? "kill -9 " + names : names + " exited");
    }

    /// <summary>Starts the appliance again (its cache and certificate kept) and waits until it answers <c>/healthz</c>.</summary>
    private async Task RestartAsync(string id)
    {
        // One at a time: FleetBed's appliance table is not thread-safe.
        LaunchedRole role;
        await _bed.WaitAsync().ConfigureAwait(false);
        try
        {
            await bed.Appliances[id].DisposeAsync().ConfigureAwait(false);
            role = await bed.StartApplianceAsync(id).ConfigureAwait(false);
        }
        finally
        {
            _bed.Release();
        }

        var started = _clock.Elapsed.TotalSeconds;
        afterUp(id);
        Log($"start {id}");
        await bed.WaitHealthyAsync(role).ConfigureAwait(false);
        Log(string.Create(CultureInfo.InvariantCulture, $"{id} healthy ({_clock.Elapsed.TotalSeconds - started:F1} s after its start)"));
    }

    private async Task UntilAsync(double seconds, CancellationToken cancellationToken)
    {
        var wait = seconds - _clock.Elapsed.TotalSeconds;
        if (wait > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds(wait), cancellationToken).ConfigureAwait(false);
        }
    }

    private void Log(string what)
    {
        var e = new ChaosEvent(Math.Round(_clock.Elapsed.TotalSeconds, 1), what);
        _events.Enqueue(e);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  chaos t={e.At,6:F1} s  {what}"));
    }
}
