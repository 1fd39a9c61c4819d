using ScottPlot;

namespace OpenConnect.Bench.Charts;

/// <summary>
/// Draws a <see cref="LineChart"/> to a PNG file with ScottPlot (SkiaSharp, no display needed; the
/// Linux native assets are the no-dependencies build, so a headless machine without fontconfig draws too).
/// </summary>
public static class PngChart
{
    /// <summary>Writes <paramref name="chart"/> to <paramref name="path"/> (directories created); returns the full path.</summary>
    public static string Save(LineChart chart, string path)
    {
        ArgumentNullException.ThrowIfNull(chart);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        chart.Validate();
        var full = CreateDirectoryFor(path);
        var plot = Draw(chart);
        try
        {
            plot.SavePng(full, chart.Width, chart.Height);
        }
        finally
        {
            plot.Dispose();
        }

        return full;
    }

    /// <summary>
    /// Writes <paramref name="charts"/> one above the other into one PNG at <paramref name="path"/>, each
    /// with its own axes (as wide as the widest, as tall as all heights summed); returns the full path.
    /// </summary>
    public static string SaveStacked(IReadOnlyList<LineChart> charts, string path)
    {
        ArgumentNullException.ThrowIfNull(charts);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (charts.Count == 0)
        {
            throw new ArgumentException("no charts to stack", nameof(charts));
        }

        foreach (var chart in charts)
        {
            chart.Validate();
        }

        var full = CreateDirectoryFor(path);
        var multiplot = new Multiplot();
        var plots = new List<Plot>(charts.Count);
        try
        {
            foreach (var chart in charts)
            {
                var plot = Draw(chart);
                plots.Add(plot);

                // A new Multiplot holds one empty plot: the first chart replaces it.
                if (plots.Count == 1)
                {
                    multiplot.Reset(plot);
                }
                else
                {
                    multiplot.AddPlot(plot);
                }
            }

            multiplot.SavePng(full, charts.Max(c => c.Width), charts.Sum(c => c.Height));
        }
        finally
        {
            foreach (var plot in plots)
            {
                plot.Dispose();
            }
        }

        return full;
    }

    private static string CreateDirectoryFor(string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        return full;
    }

    private static Plot Draw(LineChart chart)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (var i = 0; i < chart.Series.Count; i++)
        {
            var s = chart.Series[i];
            var line = plot.Add.Scatter(s.X.ToArray(), s.Y.ToArray(), palette.GetColor(i));
            line.LegendText = s.Name;
            line.LineWidth = 2;
            line.MarkerSize = 6;
            if (s.Dashed)
            {
                line.LinePattern = LinePattern.Dashed;
            }
        }

        plot.Title(chart.Title);
        plot.XLabel(chart.XLabel);
        plot.YLabel(chart.YLabel);
        plot.ShowLegend(Alignment.UpperRight);
        plot.Axes.AutoScale();
        if (chart.YMin is not null || chart.YMax is not null)
        {
            var limits = plot.Axes.GetLimits();
            plot.Axes.SetLimitsY(chart.YMin ?? limits.Bottom, chart.YMax ?? limits.Top);
        }

        return plot;
    }
}
