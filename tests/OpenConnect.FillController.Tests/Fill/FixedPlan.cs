using OpenConnect.FillController.Placement;

namespace OpenConnect.FillController.Tests.Fill;

/// <summary>
/// Test double for the forecast and the planner: the placement the test sets, restricted to the
/// appliances the coordinator offers. Lets fill-protocol tests choose exactly which appliance holds what.
/// </summary>
public sealed class FixedPlan : IPopularityForecast, IPlacementPlanner
{
    private readonly Lock _lock = new();
    private Dictionary<string, FileId[]> _byAppliance = [];
    private int _failures;

    /// <summary>How many placements the coordinator was given (a refused one is not counted).</summary>
    public int Plans { get; private set; }

    /// <summary>Makes the next <paramref name="count"/> placements fail, as a planner that cannot plan now would.</summary>
    public void FailNext(int count)
    {
        lock (_lock)
        {
            _failures = count;
        }
    }

    public void Set(params (string Appliance, FileId[] Files)[] placement)
    {
        lock (_lock)
        {
            _byAppliance = placement.ToDictionary(p => p.Appliance, p => p.Files);
        }
    }

    public ValueTask<IReadOnlyList<FileForecast>> ForecastAsync(string site, DateOnly day, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            IReadOnlyList<FileForecast> files = _byAppliance.Values.SelectMany(f => f).Distinct().Select(f => new FileForecast(f, 1000, 1)).ToList();
            return ValueTask.FromResult(files);
        }
    }

    public SitePlacement Plan(string site, DateOnly day, IReadOnlyList<PlacementAppliance> appliances, IReadOnlyList<FileForecast> forecast, SitePlacement? previous)
    {
        lock (_lock)
        {
            if (_failures > 0)
            {
                _failures--;
                throw new InvalidOperationException("the test's planner refuses this placement");
            }

            Plans++;
            var offered = appliances.Select(a => a.ApplianceId).ToHashSet(StringComparer.Ordinal);
            return new SitePlacement(site, day, _byAppliance.Where(p => offered.Contains(p.Key)).ToDictionary(p => p.Key, p => (IReadOnlyList<FileId>)p.Value));
        }
    }
}
