using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using OpenConnect.Testing.Fleet;

namespace OpenConnect.Bench.Fleet;

/// <summary>One thing the chaos runner did, at <see cref="At"/> seconds into the run.</summary>
public sealed record ChaosEvent(double At, string What);

/// <summary>
/// Plays a <see cref="ChaosSchedule"/> on the bed: each incident in its own task (wait for its
/// start, break, wait for its end, repair), every action logged with the time it happened. Actions
/// on the bed's appliance table are serialized (<see cref="FleetBed"/> is not thread-safe);
/// waiting for a restarted appliance to answer <c>/healthz</c> is not.
/// <paramref name="beforeDown"/> runs just before an appliance goes down (the bench reads its
/// counters one last time), <paramref name="afterUp"/> once it was started again.
/// </summary>
internal sealed class ChaosRunner(FleetBed bed, Func<string, Task> beforeDown, Action<string> afterUp)
{
    private readonly SemaphoreSlim _bed = new(1, 1);
    private readonly ConcurrentQueue<ChaosEvent> _events = new();
    private Stopwatch _clock = Stopwatch.StartNew();

    public IReadOnlyList<ChaosEvent> Events => [.. _events.OrderBy(e => e.At)];

    public Task RunAsync(IReadOnlyList<ChaosIncident> incidents, Stopwatch clock, CancellationToken cancellationToken)
    {
        _clock = clock;
        return Task.WhenAll(incidents.Select(i => IncidentAsync(i, cancellationToken)));
    }

    private async Task IncidentAsync(ChaosIncident incident, CancellationToken cancellationToken)
    {
        await UntilAsync(incident.Start, cancellationToken).ConfigureAwait(false);
        try
        {
            switch (incident.Kind)
            {
                case ChaosKind.Kill:
                    await DownAsync(incident.Appliances, kill: true).ConfigureAwait(false);
                    break;
                case ChaosKind.Partition:
                    foreach (var id in incident.Appliances)
                    {
                        await bed.PartitionFromSteeringAsync(id).ConfigureAwait(false);
                        Log($"partition {id} from steering");
                    }

                    break;
                default:
                    await DownAsync(incident.Appliances, kill: false).ConfigureAwait(false);
                    break;
            }

            await UntilAsync(incident.End, cancellationToken).ConfigureAwait(false);
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
        foreach (var id in appliances)
        {
            await beforeDown(id).ConfigureAwait(false);
        }

        await _bed.WaitAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(appliances.Select(id => kill ? bed.KillApplianceAsync(id) : bed.StopApplianceAsync(id))).ConfigureAwait(false);
        }
        finally
        {
            _bed.Release();
        }

        Log((kill ? "kill -9 " : "stop (SIGTERM) ") + string.Join(", ", appliances));
    }

    /// <summary>Starts the appliance again (its cache and certificate kept) and waits until it answers <c>/healthz</c>.</summary>
    private async Task RestartAsync(string id)
    {
        BedRole role;
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
