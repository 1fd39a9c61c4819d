namespace OpenConnect.Appliance.Caching.Policy;

/// <summary>
/// A forecast of each title's demand for the coming period, as the fill controller makes it from play
/// history and delivers it with the night manifest: per title, the requests expected at each position
/// octave (<see cref="VideoAwarePolicy.OctaveOf"/>), and one profile for titles the forecast does not name
/// (new releases, the long tail). <see cref="VideoAwarePolicy"/> reads it as a prior: pseudo-counts added to
/// what it has counted itself, weighted by <see cref="VideoPolicyOptions.PriorWeight"/>. Immutable; a new
/// forecast replaces the old one whole (<see cref="VideoAwarePolicy.SetPrior"/>).
/// </summary>
public sealed class TitlePrior
{
    private readonly Dictionary<ulong, int> _rows;
    private readonly double[] _octaves; // row * Octaves + octave, as shares of TotalRequests

    /// <param name="titles">Per title hash (as <see cref="ContentHint.Title"/>): forecast requests per position octave, <see cref="VideoAwarePolicy.Octaves"/> values, none negative.</param>
    /// <param name="unknownTitle">The profile of a title not in <paramref name="titles"/>; null or all zero when the forecast says nothing of them.</param>
    public TitlePrior(IReadOnlyDictionary<ulong, double[]> titles, double[]? unknownTitle = null)
    {
        ArgumentNullException.ThrowIfNull(titles);
        const int n = VideoAwarePolicy.Octaves;
        _rows = new Dictionary<ulong, int>(titles.Count);
        _octaves = new double[(titles.Count + 1) * n];
        double total = 0;
        var row = 0;
        foreach (var (title, octaves) in titles)
        {
            if (title == 0)
            {
                throw new ArgumentException("title hash 0 means 'no title' and cannot carry a forecast", nameof(titles));
            }

            CopyRow(octaves, row, nameof(titles));
            _rows.Add(title, row++);
        }

        if (unknownTitle is not null)
        {
            CopyRow(unknownTitle, row, nameof(unknownTitle));
        }

        foreach (var x in _octaves)
        {
            total += x;
        }

        TotalRequests = total;
        if (total > 0)
        {
            for (var i = 0; i < _octaves.Length; i++)
            {
                _octaves[i] /= total;
            }
        }

        UnknownRow = row;
    }

    /// <summary>Sum of the forecast requests of every named title and the unknown-title profile once.</summary>
    public double TotalRequests { get; }

    public int TitleCount => _rows.Count;

    /// <summary>The row of titles the forecast does not name.</summary>
    internal int UnknownRow { get; }

    /// <summary>The forecast row of a title, or <see cref="UnknownRow"/>.</summary>
    internal int RowOf(ulong title) => _rows.TryGetValue(title, out var row) ? row : UnknownRow;

    /// <summary>A row's forecast requests at an octave as a share of <see cref="TotalRequests"/>.</summary>
    internal double Share(int row, int octave) => _octaves[(row * VideoAwarePolicy.Octaves) + octave];

    /// <summary>A row's forecast requests over all octaves as a share of <see cref="TotalRequests"/>.</summary>
    internal double RowShare(int row)
    {
        double sum = 0;
        for (var o = 0; o < VideoAwarePolicy.Octaves; o++)
        {
            sum += Share(row, o);
        }

        return sum;
    }

    /// <summary>Forecast requests of one title at one octave (unknown titles: the unknown profile), in the forecast's own units.</summary>
    public double Requests(ulong title, int octave)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(octave);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(octave, VideoAwarePolicy.Octaves);
        return Share(RowOf(title), octave) * TotalRequests;
    }

    private void CopyRow(double[] octaves, int row, string parameter)
    {
        if (octaves.Length != VideoAwarePolicy.Octaves)
        {
            throw new ArgumentException($"a forecast row has {VideoAwarePolicy.Octaves} octaves, not {octaves.Length}", parameter);
        }

        for (var o = 0; o < octaves.Length; o++)
        {
            if (!double.IsFinite(octaves[o]) || octaves[o] < 0)
            {
                throw new ArgumentException($"forecast requests must be finite and not negative (octave {o}: {octaves[o]})", parameter);
            }

            _octaves[(row * VideoAwarePolicy.Octaves) + o] = octaves[o];
        }
    }
}
