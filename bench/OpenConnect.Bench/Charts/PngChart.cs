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
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);

        var plot = new Plot();
        try
        {
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

            plot.SavePng(full, chart.Width, chart.Height);
        }
        finally
        {
            plot.Dispose();
        }

        return full;
    }
}
