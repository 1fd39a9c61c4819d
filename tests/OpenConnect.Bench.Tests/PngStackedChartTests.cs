using OpenConnect.Bench.Charts;
using SkiaSharp;

namespace OpenConnect.Bench.Tests;

public sealed class PngStackedChartTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "oc-stacked-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void Stacks_charts_one_above_the_other_in_one_png()
    {
        var top = new LineChart("cpu", "connections", "CPU-s/GB", [new ChartSeries("ram appliance", [1.5, 3, 4], [0.2, 0.3, 0.5])]) { Width = 600, Height = 300 };
        var bottom = new LineChart("p99", "connections", "ms", [new ChartSeries("ram nginx", [1.5, 3, 4], [50, 900, 3000]) { Dashed = true }]) { Width = 500, Height = 250 };

        var path = PngChart.SaveStacked([top, bottom], Path.Combine(_dir, "throughput.png"));

        using var bitmap = SKBitmap.Decode(File.ReadAllBytes(path));
        Assert.Equal(600, bitmap.Width);
        Assert.Equal(550, bitmap.Height);

        // Each chart draws its single series in Category10's first colour (#1f77b4): in both halves.
        Assert.True(CountNear(bitmap, 0, 275, new SKColor(0x1f, 0x77, 0xb4)) > 30, "top chart not drawn");
        Assert.True(CountNear(bitmap, 275, 550, new SKColor(0x1f, 0x77, 0xb4)) > 30, "bottom chart not drawn");
    }

    [Fact]
    public void Refuses_no_charts_and_an_invalid_chart()
    {
        Assert.Throws<ArgumentException>(() => PngChart.SaveStacked([], Path.Combine(_dir, "none.png")));
        var bad = new LineChart("bad", "x", "y", [new ChartSeries("nan", [1], [double.NaN])]);
        Assert.Throws<ArgumentException>(() => PngChart.SaveStacked([bad], Path.Combine(_dir, "bad.png")));
        Assert.False(File.Exists(Path.Combine(_dir, "bad.png")));
    }

    private static int CountNear(SKBitmap bitmap, int fromRow, int toRow, SKColor color)
    {
        var count = 0;
        for (var y = fromRow; y < toRow; y++)
        {
            for (var x = 0; x < bitmap.Width; x++)
            {
                var p = bitmap.GetPixel(x, y);
                if (Math.Abs(p.Red - color.Red) < 24 && Math.Abs(p.Green - color.Green) < 24 && Math.Abs(p.Blue - color.Blue) < 24)
                {
                    count++;
                }
            }
        }

        return count;
    }
}
