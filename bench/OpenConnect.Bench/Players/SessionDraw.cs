namespace OpenConnect.Bench.Players;

/// <summary>
/// What the swarm draws per session when it should look like a catalogue rather than one title: the
/// title by a Zipf law over rank (<see cref="PlayersOptions.Zipf"/>) and a watch time after which the
/// viewer leaves (<see cref="PlayersOptions.WatchMeanSeconds"/>). Seeded, so a run's draws repeat.
/// </summary>
internal sealed class SessionDraw
{
    private readonly Random _random;
    private readonly double[] _cumulative;
    private readonly double _watchMean;

    /// <param name="titles">How many titles; rank 0 is the most popular.</param>
    /// <param name="zipf">Exponent; 0 gives every title the same chance.</param>
    /// <param name="watchMeanSeconds">Mean of the exponential watch time; 0: no one leaves early.</param>
    /// <param name="seed">Seed of the draws.</param>
    public SessionDraw(int titles, double zipf, double watchMeanSeconds, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(titles, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(zipf);
        ArgumentOutOfRangeException.ThrowIfNegative(watchMeanSeconds);
        _random = new Random(seed);
        _watchMean = watchMeanSeconds;
        _cumulative = new double[titles];
        double sum = 0;
        for (var k = 0; k < titles; k++)
        {
            sum += 1 / Math.Pow(k + 1, zipf);
            _cumulative[k] = sum;
        }

        for (var k = 0; k < titles; k++)
        {
            _cumulative[k] /= sum;
        }
    }

    /// <summary>The share of sessions rank <paramref name="rank"/> gets.</summary>
    public double Share(int rank) => _cumulative[rank] - (rank == 0 ? 0 : _cumulative[rank - 1]);

    /// <summary>A title's rank.</summary>
    public int Title()
    {
        var u = _random.NextDouble();
        var i = Array.BinarySearch(_cumulative, u);
        return Math.Min(i >= 0 ? i : ~i, _cumulative.Length - 1);
    }

    /// <summary>How long the session stays, or null when it plays the whole title.</summary>
    public TimeSpan? WatchTime()
    {
        if (_watchMean <= 0)
        {
            return null;
        }

        return TimeSpan.FromSeconds(-_watchMean * Math.Log(1 - _random.NextDouble()));
    }
}
