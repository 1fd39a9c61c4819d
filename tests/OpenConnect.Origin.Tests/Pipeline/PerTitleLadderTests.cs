using OpenConnect.Origin.Pipeline;
using OpenConnect.Origin.Pipeline.PerTitle;

namespace OpenConnect.Origin.Tests.Pipeline;

/// <summary>The per-title decision rules, given rate-quality points, as tables.</summary>
public sealed class PerTitleLadderTests
{
    private static readonly PerTitleRules Rules = new(RateMargin: 0.10, MinRungStep: 1.3, MinKbps: 50);

    /// <summary>Curves as "height:kbps/ssim kbps/ssim …; height:…".</summary>
    private static Dictionary<int, RateQualityCurve> Curves(string table) =>
        table.Split(';', StringSplitOptions.TrimEntries).Select(part =>
        {
            var (height, points) = (int.Parse(part.Split(':')[0]), part.Split(':')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries));
            return RateQualityCurve.From(points.Select(p => new RateQualityPoint(height, double.Parse(p.Split('/')[0]), double.Parse(p.Split('/')[1]), 40)));
        }).ToDictionary(c => c.Height);

    private static List<FixedRung> Fixed(string table) =>
        [.. table.Split(' ').Select(r => new FixedRung(int.Parse(r.Split('@')[0]), int.Parse(r.Split('@')[1])))];

    private static string Show(IReadOnlyList<PlannedRung> rungs) => string.Join(' ', rungs.Select(r => $"{r.Height}@{r.Kbps}"));

    [Theory]
    // Hard content: every fixed rung sits on the hull; the trials say the fixed rates are needed (plus the
    // margin), so the fixed ladder comes back unchanged, never dearer.
    [InlineData("360:400/0.88 1600/0.92; 720:400/0.80 1600/0.98", "360@800 720@1600", null, "360@800 720@1600")]
    // Easy content: the top rung keeps the fixed rate (its quality is beyond the trials at any lower rate),
    // the 720p target is met by 1080p at 436 x 1.1 kbit/s; the 360p target is below every 1080p trial, so
    // it costs the cheapest trial's 200 x 1.1 (never extrapolated below it).
    [InlineData("360:200/0.92 800/0.93 3200/0.935; 720:200/0.94 800/0.97 3200/0.975; 1080:200/0.95 800/0.99 3200/0.995", "360@800 720@1600 1080@3200", null, "1080@220 1080@480 1080@3200")]
    // The same easy title from a source of 1000 kbit/s: no rung above the source's bitrate.
    [InlineData("360:200/0.92 800/0.93 3200/0.935; 720:200/0.94 800/0.97 3200/0.975; 1080:200/0.95 800/0.99 3200/0.995", "360@800 720@1600 1080@3200", 1000.0, "1080@220 1080@480 1080@1000")]
    // Targets closer than MinRungStep collapse into the rung above, which then serves both.
    [InlineData("360:100/0.90 400/0.94 1600/0.97; 720:100/0.85 400/0.95 1600/0.995", "360@420 720@500", null, "720@500")]
    // A soft title: 360p reaches the top target with fewer bits than 720p, and the 360p target is then
    // too close below it to be a rung of its own.
    [InlineData("360:100/0.90 400/0.96 1600/0.97; 720:100/0.85 400/0.95 1600/0.995", "360@420 720@500", null, "360@413")]
    // A rate below MinKbps is raised to it.
    [InlineData("144:20/0.95 80/0.99; 240:20/0.96 80/0.995", "144@30 240@400", null, "240@50 240@400")]
    public void Choose_FollowsTheHull_WithinTheFixedCeiling(string curves, string fixedRungs, double? sourceKbps, string expected)
    {
        var rungs = PerTitleLadder.Choose(Curves(curves), Fixed(fixedRungs), sourceKbps, Rules);

        Assert.Equal(expected, Show(rungs));
        var fixedByHeight = Fixed(fixedRungs).ToDictionary(r => r.Height, r => r.Kbps);
        foreach (var rung in rungs)
        {
            var own = rung.Serves.Max();
            Assert.True(rung.Kbps <= Math.Max(fixedByHeight[own], Rules.MinKbps), $"{rung.Height}@{rung.Kbps} costs more than the fixed rung {own}p it replaces");
        }

        Assert.Equal(Fixed(fixedRungs).Select(r => r.Height).Order(), rungs.SelectMany(r => r.Serves).Order());
        Assert.True(rungs.Zip(rungs.Skip(1)).All(p => p.First.Height <= p.Second.Height && p.First.Kbps * Rules.MinRungStep <= p.Second.Kbps), "heights must not fall and rates must be spaced as the ladder climbs");
    }

    [Fact]
    public void Choose_WhenTheTopRungGoesLower_ServesTheNextTargetBelowIt()
    {
        // A title whose 720p beats 1080p at the top target (very soft source): the top rung is 720p,
        // so the 1080p height is gone for every rung below it.
        var curves = Curves("360:400/0.90 3200/0.93; 720:400/0.95 3200/0.99; 1080:400/0.93 3200/0.985");

        var rungs = PerTitleLadder.Choose(curves, Fixed("360@800 720@1600 1080@3200"), null, Rules);

        Assert.All(rungs, r => Assert.True(r.Height <= 720, $"{r.Height}p above the top rung's height"));
        Assert.Equal(720, rungs[^1].Height);
        Assert.Contains(1080, rungs[^1].Serves);
    }

    [Fact]
    public void Choose_RejectsAFixedRungWithoutACurve()
    {
        var error = Assert.Throws<ArgumentException>(() => PerTitleLadder.Choose(Curves("360:100/0.9 400/0.95"), Fixed("360@800 720@1600"), null, Rules));
        Assert.Contains("720p", error.Message);
    }

    [Theory]
    [InlineData(100, 0.90)]
    [InlineData(400, 0.96)]
    [InlineData(200, 0.93)] // halfway in ln(rate)
    [InlineData(1600, 0.99)] // past the last point: the last slope continues
    [InlineData(3200, 1.0)] // clamped
    public void Curve_InterpolatesInLogRate(double kbps, double expected)
    {
        var curve = Curves("720:100/0.90 400/0.96 800/0.975")[720];

        Assert.Equal(expected, curve.QualityAt(kbps), 3);
    }

    [Theory]
    [InlineData(0.93, 200)]
    [InlineData(0.96, 400)]
    [InlineData(0.87, 100)] // below the cheapest trial: its rate, never an extrapolation below it
    [InlineData(0.90, 100)]
    [InlineData(0.98, double.PositiveInfinity)] // better than any trial: out of reach at this height
    public void Curve_RateForQuality(double quality, double expected)
    {
        var curve = Curves("720:100/0.90 400/0.96 800/0.975")[720];

        Assert.Equal(expected, curve.KbpsFor(quality), 0);
    }

    [Theory]
    // Reached (or above) the fixed rungs' measured SSIM: kept.
    [InlineData("1080@400/360,480", 0.951, 0.950, "480@800", null, "kept")]
    [InlineData("1080@400/360,480", 0.950, 0.950, "480@800", null, "kept")]
    // Short of it: 1.25 times the rate, same height.
    [InlineData("1080@400/360,480", 0.949, 0.950, "480@800", null, "1080@500")]
    // Rounded up to a whole kbit/s.
    [InlineData("720@101/240", 0.90, 0.95, "240@300", null, "720@127")]
    // The raise would reach the fixed rate: the fixed rung itself.
    [InlineData("1080@700/480", 0.90, 0.95, "480@800", null, "480@800")]
    [InlineData("1080@640/480", 0.90, 0.95, "480@800", null, "480@800")]
    // Already the fixed rung: nothing to raise even if the windows measured it short.
    [InlineData("480@800/480", 0.90, 0.95, "480@800", null, "kept")]
    // Never above the source: raised only to the source's rate, then no further.
    [InlineData("1080@400/480", 0.90, 0.95, "480@800", 450.0, "1080@450")]
    [InlineData("1080@450/480", 0.90, 0.95, "480@800", 450.0, "kept")]
    public void Raise_StepsTowardTheFixedRung(string rung, double measured, double target, string own, double? sourceKbps, string expected)
    {
        var planned = Planned(rung);
        var fixedRung = Fixed(own)[0];

        var raised = PerTitleLadder.Raise(planned, measured, target, fixedRung, sourceKbps, 1.25);

        Assert.Equal(expected, raised is null ? "kept" : $"{raised.Height}@{raised.Kbps}");
        if (raised is not null)
        {
            Assert.Equal(planned.Serves, raised.Serves);
            Assert.Equal(target, raised.TargetSsim);
        }
    }

    [Theory]
    // The fixed rung's encode spends more than the source: the source caps the raise.
    [InlineData(2000.0, 4800.0, 2000.0)]
    // It spends less (a still title's fixed 1080p spends 300 of its nominal 5000 kbit/s): no cap, so the
    // rung may fall back to the fixed rung.
    [InlineData(2249.0, 300.0, null)]
    [InlineData(2249.0, 2249.0, null)]
    // Unknown source bitrate: no cap.
    [InlineData(null, 4800.0, null)]
    public void SourceCap_OnlyWhereTheFixedRungSpendsMoreThanTheSource(double? sourceKbps, double fixedSpentKbps, double? expected) =>
        Assert.Equal(expected, PerTitleLadder.SourceCap(sourceKbps, fixedSpentKbps));

    [Fact]
    public void Raise_RejectsAStepThatDoesNotRaise() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => PerTitleLadder.Raise(Planned("1080@400/480"), 0.9, 0.95, new FixedRung(480, 800), null, 1.0));

    [Theory]
    // Spaced rungs stay as they are, cheapest first.
    [InlineData("1080@200/240 1080@600/480 1080@3000/1080", "1080@200:0.93 1080@600:0.96 1080@3000:0.99", "1080@200/240 1080@600/480 1080@3000/1080")]
    // Two rungs that calibration raised to the same fixed rung become one serving both.
    [InlineData("480@800/360 480@800/480 1080@3000/1080", "480@800:0.96 1080@3000:0.99", "480@800/360,480 1080@3000/1080")]
    // Too close below the next rung, which measured at least this rung's target: merged into it.
    [InlineData("1080@500/360 1080@600/480 1080@3000/1080", "1080@500:0.95 1080@600:0.96 1080@3000:0.99", "1080@600/360,480 1080@3000/1080")]
    // Too close, but the dearer rung measured below this rung's target: both stay.
    [InlineData("1080@500/360 720@600/480 1080@3000/1080", "1080@500:0.95 720@600:0.94 1080@3000:0.99", "1080@500/360 720@600/480 1080@3000/1080")]
    public void Tidy_MergesDuplicatesAndCloseRungsThatStillMeetTheirTarget(string rungs, string measured, string expected)
    {
        var planned = rungs.Split(' ').Select(Planned).ToList();
        var ssim = measured.Split(' ').ToDictionary(m => (int.Parse(m.Split('@')[0]), int.Parse(m.Split('@')[1].Split(':')[0])), m => double.Parse(m.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture));

        var tidy = PerTitleLadder.Tidy(planned, ssim, Rules);

        Assert.Equal(expected, string.Join(' ', tidy.Select(r => $"{r.Height}@{r.Kbps}/{string.Join(',', r.Serves)}")));
        Assert.Equal(planned.SelectMany(r => r.Serves).Order(), tidy.SelectMany(r => r.Serves).Order());
    }

    /// <summary>A planned rung as "height@kbps/served,heights"; its target is the first served height's SSIM in <see cref="Tidy_MergesDuplicatesAndCloseRungsThatStillMeetTheirTarget"/> (0.95 for 360, 0.96 for 480, 0.99 for 1080).</summary>
    private static PlannedRung Planned(string text)
    {
        var (rung, serves) = (text.Split('/')[0], text.Split('/')[1].Split(',').Select(int.Parse).ToList());
        var target = serves.Max() switch { <= 360 => 0.95, <= 480 => 0.96, _ => 0.99 };
        return new PlannedRung(int.Parse(rung.Split('@')[0]), int.Parse(rung.Split('@')[1]), target, target, serves);
    }

    [Fact]
    public void Curve_TreatsAWorseDearerPointAsNoise()
    {
        var curve = Curves("720:100/0.95 200/0.94 400/0.97")[720];

        Assert.Equal(0.95, curve.QualityAt(200), 3);
        Assert.Equal(100, curve.KbpsFor(0.95), 0);
    }

    [Theory]
    [InlineData("720:100/0.9")]
    [InlineData("720:100/0.9 100/0.95")]
    [InlineData("720:0/0.9 100/0.95")]
    [InlineData("720:50/1.2 100/0.95")]
    public void Curve_RejectsTooFewOrBadPoints(string table) =>
        Assert.Throws<ArgumentException>(() => Curves(table));

    [Theory]
    [InlineData(60, 3, 2, "9,29,49")]
    [InlineData(8, 3, 2, "0.333,3,5.667")]
    [InlineData(5, 3, 2, "0,2")]
    [InlineData(1.5, 3, 2, "0")]
    public void WindowStarts_SpreadOverTheTitle(double duration, int windows, double seconds, string expected)
    {
        var starts = ComplexityAnalyzer.WindowStarts(duration, windows, seconds);

        Assert.Equal(expected, string.Join(',', starts.Select(s => s.ToString(System.Globalization.CultureInfo.InvariantCulture))));
    }

    [Fact]
    public void QualityStats_AverageThePerFrameLines()
    {
        var ssim = QualityStats.SsimFrames("n:1 Y:0.99 U:0.98 V:0.97 All:0.985 (18.2)\nn:2 Y:0.99 U:0.98 V:0.97 All:0.975 (16.0)\n");
        var mse = QualityStats.MseFrames("n:1 mse_avg:2.00 mse_y:2.5 mse_u:1 mse_v:1 psnr_avg:45.1 psnr_y:44 psnr_u:48 psnr_v:48\nn:2 mse_avg:4.00 mse_y:5 mse_u:2 mse_v:2 psnr_avg:42.1 psnr_y:41 psnr_u:45 psnr_v:45\n");

        Assert.Equal((1.96, 2), (Math.Round(ssim.Sum, 6), ssim.Frames));
        Assert.Equal(43.36, QualityStats.PsnrFromMse(mse.Sum / mse.Frames), 2);
        Assert.Equal(100, QualityStats.PsnrFromMse(0));
        Assert.Throws<InvalidDataException>(() => QualityStats.SsimFrames("n:1 Y:0.99 U:0.98\n"));
    }

    [Fact]
    public void FromPlan_NamesRungsThatShareAHeightByBitrate()
    {
        var options = new PipelineOptions { Codecs = ["av1"] };
        PlannedRung[] planned = [new(1080, 110, 0.95, 0.93, [360]), new(1080, 480, 0.97, 0.97, [720]), new(1080, 3200, 0.995, 0.995, [1080])];

        var rungs = Ladder.FromPlan(1920, 1080, options, planned);

        Assert.Equal(["1080p-110k", "1080p-480k", "1080p", "1080p-110k-av1", "1080p-480k-av1", "1080p-av1"], rungs.Select(r => r.Name));
        Assert.Equal([110, 480, 3200, 61, 264, 1760], rungs.Select(r => r.BitrateKbps));
        Assert.All(rungs, r => Assert.Equal((1920, 1080), (r.Width, r.FrameHeight)));
    }

    [Fact]
    public void FromPlan_RejectsAHeightAboveTheSource()
    {
        PlannedRung[] planned = [new(1080, 3000, 0.99, 0.99, [1080])];

        Assert.Throws<ArgumentException>(() => Ladder.FromPlan(1280, 720, new PipelineOptions(), planned));
    }
}
