namespace OpenConnect.Bench.Charts;

/// <summary>One line of a <see cref="LineChart"/>: a name for the legend and its points, X ascending or not.</summary>
public sealed record ChartSeries(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y)
{
    /// <summary>Drawn dashed, for a bound or reference (Belady, a goal line) rather than a measured policy.</summary>
    public bool Dashed { get; init; }
}

/// <summary>A chart of lines sharing one pair of axes, as a bench scenario draws its figures beside its JSON line.</summary>
public sealed record LineChart(string Title, string XLabel, string YLabel, IReadOnlyList<ChartSeries> Series)
{
    public int Width { get; init; } = 900;

    public int Height { get; init; } = 600;

    /// <summary>Lower end of the Y axis; null lets the data decide.</summary>
    public double? YMin { get; init; }

    /// <summary>Upper end of the Y axis; null lets the data decide.</summary>
    public double? YMax { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming what is wrong: no series, unequal lengths, a value that is not finite.</summary>
    public void Validate()
    {
        if (Series.Count == 0)
        {
            throw new ArgumentException($"chart '{Title}' has no series");
        }

        if (Width < 100 || Height < 100)
        {
            throw new ArgumentException($"chart '{Title}': {Width}x{Height} is smaller than 100x100 pixels");
        }

        foreach (var s in Series)
        {
            if (s.X.Count == 0 || s.X.Count != s.Y.Count)
            {
                throw new ArgumentException($"chart '{Title}', series '{s.Name}': {s.X.Count} x values and {s.Y.Count} y values (need equal, at least one)");
            }

            for (var i = 0; i < s.X.Count; i++)
            {
                if (!double.IsFinite(s.X[i]) || !double.IsFinite(s.Y[i]))
                {
                    throw new ArgumentException($"chart '{Title}', series '{s.Name}': point {i} ({s.X[i]}, {s.Y[i]}) is not finite");
                }
            }
        }

        if (YMin is { } lo && YMax is { } hi && !(lo < hi))
        {
            throw new ArgumentException($"chart '{Title}': YMin {lo} is not below YMax {hi}");
        }
    }
}
