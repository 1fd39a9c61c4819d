using OpenConnect.Bench.Charts;
using SkiaSharp;

namespace OpenConnect.Bench.Tests;

public sealed class PngChartTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "oc-chart-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void Draws_a_png_of_the_requested_size_with_every_series_on_it()
    {
        var chart = new LineChart("byte miss ratio", "cache size (% of unique bytes)", "byte miss ratio",
        [
            new ChartSeries("lru", [1, 5, 10], [0.95, 0.88, 0.83]),
            new ChartSeries("belady", [1, 5, 10], [0.80, 0.68, 0.60]) { Dashed = true },
        ])
        { Width = 640, Height = 400 };

        var path = PngChart.Save(chart, Path.Combine(_dir, "sub", "chart.png"));

        var bytes = File.ReadAllBytes(path);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
        using var bitmap = SKBitmap.Decode(bytes);
        Assert.Equal(640, bitmap.Width);
        Assert.Equal(400, bitmap.Height);

        // Both series' colours (Category10's first two: #1f77b4, #ff7f0e) are drawn somewhere.
        Assert.True(CountNear(bitmap, new SKColor(0x1f, 0x77, 0xb4)) > 50, "first series not drawn");
        Assert.True(CountNear(bitmap, new SKColor(0xff, 0x7f, 0x0e)) > 50, "second series not drawn");
    }

    [Fact]
    public void Bad_charts_are_refused_with_the_reason()
    {
        var path = Path.Combine(_dir, "bad.png");
        var empty = new LineChart("t", "x", "y", []);
        Assert.Contains("no series", Assert.Throws<ArgumentException>(() => PngChart.Save(empty, path)).Message);

        var uneven = new LineChart("t", "x", "y", [new ChartSeries("s", [1, 2], [1])]);
        Assert.Contains("2 x values and 1 y values", Assert.Throws<ArgumentException>(() => PngChart.Save(uneven, path)).Message);

        var nan = new LineChart("t", "x", "y", [new ChartSeries("s", [1, 2], [1, double.NaN])]);
        Assert.Contains("not finite", Assert.Throws<ArgumentException>(() => PngChart.Save(nan, path)).Message);

        Assert.False(File.Exists(path));
    }

    private static int CountNear(SKBitmap bitmap, SKColor c)
    {
        var n = 0;
        for (var y = 0; y < bitmap.Height; y++)
        {
            for (var x = 0; x < bitmap.Width; x++)
            {
                var p = bitmap.GetPixel(x, y);
                if (Math.Abs(p.Red - c.Red) < 24 && Math.Abs(p.Green - c.Green) < 24 && Math.Abs(p.Blue - c.Blue) < 24)
                {
                    n++;
                }
            }
        }

        return n;
    }
}
