using System.Text.Json;
using OpenConnect.Bench.FillSim;
using OpenConnect.Testing;

namespace OpenConnect.Bench.Tests;

public class FillSimTests
{
    private static readonly FillSimOptions Small = new() { Titles = 200, Releases = 4, Days = 10, Plays = 20_000 };

    [Fact]
    public void ExpectedPlays_SumToTheSitesPlays_VideoAndAudioAlike()
    {
        var workload = new Workload(Small);
        for (var day = 0; day < 3; day++)
        {
            workload.PlaysOf(day);
            for (var site = 0; site < workload.Sites; site++)
            {
                var files = workload.ExpectedPlays(day, site);
                var video = files.Where(f => f.Rendition != workload.AudioRendition).Sum(f => f.Plays);
                var audio = files.Where(f => f.Rendition == workload.AudioRendition).Sum(f => f.Plays);
                Assert.Equal(workload.SitePlays(site), video, 6);
                Assert.Equal(workload.SitePlays(site), audio, 6);
                Assert.All(files, f => Assert.True(f.Plays > 0 && (f.Rendition == workload.AudioRendition || f.Rendition <= workload.TopRung[f.Title])));
                // Releases not out yet are expected at no plays.
                Assert.DoesNotContain(files, f => workload.ReleaseDay[f.Title] > day);
            }
        }
    }

    [Fact]
    public void ExpectedPlays_MatchTheDrawnPlays()
    {
        // Many plays a day on a small catalog: every file's count is large, so a wrong weight,
        // taste, drift day or rendition mix shows as a chi-square far above its degrees of freedom.
        var workload = new Workload(Small with { Plays = 400_000 });
        for (var day = 0; day < 5; day++)
        {
            var observed = new Dictionary<(int Site, int Title, byte Rendition), int>();
            foreach (var play in workload.PlaysOf(day))
            {
                foreach (var rendition in new[] { play.Rendition, workload.AudioRendition })
                {
                    var key = (play.Site, play.Title, rendition);
                    observed[key] = observed.GetValueOrDefault(key) + 1;
                }
            }

            var expected = Enumerable.Range(0, workload.Sites)
                .SelectMany(site => workload.ExpectedPlays(day, site).Select(f => (Key: (site, f.Title, f.Rendition), f.Plays)))
                .ToDictionary(f => f.Key, f => f.Plays);

            // Nothing is drawn that is expected at zero plays.
            Assert.All(observed.Keys, key => Assert.True(expected.ContainsKey(key), $"drawn but not expected: {key}"));

            var cells = expected.Where(e => e.Value >= 20).ToList();
            var chiSquare = cells.Sum(e => Math.Pow(observed.GetValueOrDefault(e.Key) - e.Value, 2) / e.Value);
            Assert.True(cells.Count > 1_500, $"only {cells.Count} files with 20 or more expected plays");
            // A count's variance is at most its expectation, so the statistic's mean is at most the
            // number of cells; its standard deviation is about sqrt(2 × cells), 1.5% of it here.
            Assert.True(chiSquare < 1.1 * cells.Count, $"day {day}: chi-square {chiSquare:F0} over {cells.Count} files");
        }
    }

    [Fact]
    public void ExpectedPlays_OnlyForTheDayDrawnLast()
    {
        var workload = new Workload(Small);
        Assert.Throws<InvalidOperationException>(() => workload.ExpectedPlays(0, 0));
        workload.PlaysOf(0);
        workload.PlaysOf(1);
        Assert.Throws<InvalidOperationException>(() => workload.ExpectedPlays(0, 0));
        Assert.NotEmpty(workload.ExpectedPlays(1, 0));
    }

    [Fact]
    public async Task Bench_ReportsKnownRatesBesideTheExistingFigures()
    {
        using var charts = new TempDirectory("openconnect-fill-sim-charts");
        var result = await ExternalProcess.RunAsync(
            "dotnet",
            [typeof(FillSimScenario).Assembly.Location, "fill-sim", "--days", "4", "--warmup", "1", "--titles", "300", "--releases", "2", "--plays", "3000", "--sizes", "0.05,0.1", "--charts", charts.Path],
            TimeSpan.FromMinutes(3));
        Assert.True(result.ExitCode == 0, result.StandardError);
        var lines = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // One known_rates row per size in the offload table and one in the origin-bytes table.
        Assert.Equal(4, lines.Count(l => l.StartsWith("known_rates ", StringComparison.Ordinal)));

        using var json = JsonDocument.Parse(lines[^1]);
        var root = json.RootElement;
        Assert.Equal("fill-sim", root.GetProperty("scenario").GetString());
        var sizes = root.GetProperty("sizes").EnumerateArray().ToArray();
        Assert.Equal(2, sizes.Length);
        foreach (var figures in sizes.Append(root))
        {
            var pull = figures.GetProperty("offload_pull").GetDouble();
            var push = figures.GetProperty("offload_push_fill").GetDouble();
            var known = figures.GetProperty("offload_known_rates").GetDouble();
            var oracle = figures.GetProperty("offload_oracle").GetDouble();
            Assert.InRange(known, 0, 1);
            AssertGap(figures.GetProperty("gap_closed"), pull, push, oracle);
            AssertGap(figures.GetProperty("gap_closed_known_rates"), pull, push, known);
            AssertGap(figures.GetProperty("oracle_gap_closed_by_known_rates"), pull, known, oracle);
        }

        // The top level is the 10% size; the goal is still judged against the realized oracle.
        Assert.Equal(sizes[1].GetProperty("offload_known_rates").GetDouble(), root.GetProperty("offload_known_rates").GetDouble());
        var withinBudget = root.GetProperty("nights_over_budget_push_fill").GetInt32() == 0;
        var goal = withinBudget && root.GetProperty("offload_push_fill").GetDouble() >= 0.95
            && root.GetProperty("gap_closed").ValueKind == JsonValueKind.Number
            && root.GetProperty("gap_closed").GetDouble() >= 0.5;
        Assert.Equal(goal, root.GetProperty("goal_met").GetBoolean());
        // Beside it, the goal against the reachable gap (pull to known rates).
        var reachable = withinBudget && root.GetProperty("offload_push_fill").GetDouble() >= 0.95
            && root.GetProperty("gap_closed_known_rates").ValueKind == JsonValueKind.Number
            && root.GetProperty("gap_closed_known_rates").GetDouble() >= 0.5;
        Assert.Equal(reachable, root.GetProperty("goal_met_reachable").GetBoolean());
        Assert.Equal("learned", root.GetProperty("rendition_mix").GetString());
        Assert.Equal(root.GetProperty("offload_push_fill").GetDouble() / root.GetProperty("offload_oracle").GetDouble(), root.GetProperty("ratio_to_oracle_push_fill").GetDouble(), 4);

        // The charts: one PNG per cache size, and the JSON line copied beside them.
        foreach (var size in new[] { "5", "10" })
        {
            var png = await File.ReadAllBytesAsync(Path.Combine(charts.Path, $"fill-sim-3000-seed7-{size}pct.png"));
            Assert.True(png.Length > 1000 && png.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), $"fill-sim-3000-seed7-{size}pct.png is not a PNG");
        }

        using var copy = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(charts.Path, "fill-sim-3000-seed7-10pct.json")));
        Assert.Equal(root.GetProperty("offload_push_fill").GetDouble(), copy.RootElement.GetProperty("offload_push_fill").GetDouble());
        Assert.Equal(root.GetProperty("gap_closed").ToString(), copy.RootElement.GetProperty("gap_closed").ToString());
        // The peer-pinned figure is a part of the origin bytes, not a bucket beside them.
        foreach (var strategy in new[] { "push_fill", "known_rates" })
        {
            var origin = sizes[1].GetProperty($"origin_bytes_{strategy}").EnumerateObject().Sum(b => b.Value.GetInt64());
            Assert.InRange(sizes[1].GetProperty($"origin_bytes_pinned_on_site_peer_{strategy}").GetInt64(), 0, origin);
            // Mean pinned bytes fit the pin share of the cache, and pinned files serve bytes.
            var pinRoom = sizes[1].GetProperty("cache_bytes_per_appliance").GetInt64() * root.GetProperty("pin_share").GetDouble();
            Assert.InRange(sizes[1].GetProperty($"pinned_bytes_mean_{strategy}").GetInt64(), 1, pinRoom);
            Assert.True(sizes[1].GetProperty($"pinned_hit_bytes_{strategy}").GetInt64() > 0);
        }
    }

    /// <summary>A gap figure is the strategy's share of the pull-to-bound gap, or null when the bound is not above pull.</summary>
    private static void AssertGap(JsonElement gap, double pull, double strategy, double bound)
    {
        // Offloads are rounded to 5 decimals in the JSON (±5e-6 each); a span closer to 0 than that
        // allows cannot be checked from them.
        var span = bound - pull;
        if (span <= -1e-5)
        {
            Assert.Equal(JsonValueKind.Null, gap.ValueKind);
        }
        else if (span >= 1e-4)
        {
            var share = (strategy - pull) / span;
            var tolerance = (1e-5 * (1 + Math.Abs(share)) / span) + 1e-5;
            Assert.InRange(gap.GetDouble(), share - tolerance, share + tolerance);
        }
    }
}
