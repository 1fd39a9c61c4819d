using System.Collections.Concurrent;
using OpenConnect.Testing;
using OpenConnect.Testing.Fleet;

namespace OpenConnect.Bench.Fleet;

/// <summary>
/// What the origin sent the appliances during the run, read from each appliance's management
/// listener inside its namespace: <c>openconnect_appliance_upstream_bytes_total</c> (pull-through
/// from the origin, the appliances' only parent on the bed) and <c>openconnect_appliance_fill_bytes_total</c>
/// (fill), totalled across restarts (<see cref="CounterTotal"/>). An appliance that is down is skipped.
/// </summary>
internal sealed class ApplianceCounters(FleetBed bed)
{
    public const string Upstream = "openconnect_appliance_upstream_bytes_total";
    public const string Fill = "openconnect_appliance_fill_bytes_total";

    private readonly ConcurrentDictionary<(string Appliance, string Counter), CounterTotal> _totals = new();
    private readonly ConcurrentDictionary<string, bool> _down = new(StringComparer.Ordinal);

    public double Total(string counter)
    {
        lock (_totals)
        {
            return _totals.Where(t => t.Key.Counter == counter).Sum(t => t.Value.Total);
        }
    }

    public async Task ReadAllAsync()
    {
        await Task.WhenAll(bed.Appliances.Keys.ToList().Select(ReadAsync)).ConfigureAwait(false);
    }

    public async Task ReadAsync(string appliance)
    {
        if (_down.ContainsKey(appliance))
        {
            return;
        }

        var (status, body) = await bed.CurlAsync(appliance, FleetLaunch.ManagementUrl + "/metrics").ConfigureAwait(false);
        if (status != 200)
        {
            return;
        }

        var metrics = PrometheusText.Parse(body);
        lock (_totals)
        {
            if (_down.ContainsKey(appliance))
            {
                return;
            }

            foreach (var counter in (string[])[Upstream, Fill])
            {
                if (metrics.Value(counter) is { } value)
                {
                    Counter(appliance, counter).Observe(value);
                }
            }
        }
    }

    /// <summary>
    /// <paramref name="appliance"/> went down: stop reading it; its next life counts from zero.
    /// What it counted since the last read (at most one poll interval) is lost: a read just before
    /// the kill would take seconds on a loaded machine and delay the incident.
    /// </summary>
    public void Down(string appliance)
    {
        lock (_totals)
        {
            _down[appliance] = true;
            foreach (var counter in (string[])[Upstream, Fill])
            {
                Counter(appliance, counter).Restarted();
            }
        }
    }

    /// <summary><paramref name="appliance"/> is running again: read it again.</summary>
    public void Up(string appliance) => _down.TryRemove(appliance, out _);

    /// <summary>Reads every appliance every <paramref name="interval"/> until cancelled.</summary>
    public async Task PollAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            await ReadAllAsync().ConfigureAwait(false);
            try
            {
                await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private CounterTotal Counter(string appliance, string counter) => _totals.GetOrAdd((appliance, counter), _ => new CounterTotal());
}
