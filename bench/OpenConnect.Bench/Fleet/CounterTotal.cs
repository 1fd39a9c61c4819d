namespace OpenConnect.Bench.Fleet;

/// <summary>
/// The total of a Prometheus counter across restarts of the process that exports it: a sample
/// lower than the previous one means the process started again from zero, so what the previous
/// life had counted is kept.
/// </summary>
public sealed class CounterTotal
{
    private double _earlierLives;
    private double? _first;
    private double _last;

    /// <summary>Counted since the first sample (bytes counted before the run started are not the run's).</summary>
    public double Total => _first is { } first ? _earlierLives + _last - first : 0;

    public void Observe(double value)
    {
        if (_first is null)
        {
            _first = value;
            _last = value;
            return;
        }

        if (value < _last)
        {
            _earlierLives += _last;
        }

        _last = value;
    }

    /// <summary>The exporting process was started again (after a last <see cref="Observe"/> of its old life): its counter restarts from zero.</summary>
    public void Restarted()
    {
        if (_first is null)
        {
            _first = 0;
            _last = 0;
            return;
        }

        _earlierLives += _last;
        _last = 0;
    }
}
