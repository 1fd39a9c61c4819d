using OpenConnect.Bench.Throughput;

namespace OpenConnect.Bench.Tests;

/// <summary>The parsers and sums behind the throughput report: wrk and h2load output, /proc memory, ratios and goals.</summary>
public sealed class ThroughputReportTests
{
    private const string Wrk = """
        Running 10s test @ http://127.0.0.1:40000/
          1 threads and 32 connections
          Thread Stats   Avg      Stdev     Max   +/- Stdev
            Latency    47.01ms   10.32ms 120.00ms   80.00%
            Req/Sec   680.00     50.00   700.00     70.00%
          Latency Distribution
             50%   24.90ms
             75%   30.00ms
             90%   40.00ms
             99%    1.20s
          6790 requests in 10.00s, 13.26GB read
          Socket errors: connect 0, read 2, write 1, timeout 3
          Non-2xx or 3xx responses: 4
        Requests/sec:    679.00
        Transfer/sec:      1.33GB
        """;

    [Fact]
    public void Wrk_report_is_parsed_in_binary_units_with_errors_summed()
    {
        var report = WrkReport.Parse(Wrk);

        Assert.Equal(6790, report.Requests);
        Assert.Equal(10.0, report.DurationSeconds);
        Assert.Equal(13.26 * 1024 * 1024 * 1024, report.BytesRead, 1);
        Assert.Equal(679.0, report.RequestsPerSecond);
        Assert.Equal(1.33 * 1024 * 1024 * 1024 / 1e9, report.GigabytesPerSecond, 6);
        Assert.Equal(24.9, report.P50Ms, 6);
        Assert.Equal(1200, report.P99Ms, 6);
        Assert.Equal(3, report.SocketErrors);
        Assert.Equal(3, report.Timeouts);
        Assert.Equal(10, report.Errors);
    }

    [Fact]
    public void Wrk_run_that_completed_nothing_has_no_latency_rather_than_zero()
    {
        const string Nothing = """
              Latency Distribution
                 50%    0.00us
                 75%    0.00us
                 90%    0.00us
                 99%    0.00us
              0 requests in 14.00s, 30.00MB read
            Requests/sec:      0.00
            Transfer/sec:      2.14MB
            """;

        var report = WrkReport.Parse(Nothing);

        Assert.Equal(0, report.Requests);
        Assert.True(double.IsNaN(report.P50Ms));
        Assert.True(double.IsNaN(report.P99Ms));
        Assert.Equal(30.0 * 1024 * 1024, report.BytesRead);
    }

    [Fact]
    public void Wrk_output_without_a_report_is_a_format_error()
    {
        var error = Assert.Throws<FormatException>(() => WrkReport.Parse("unable to connect to 127.0.0.1:1 Connection refused"));
        Assert.Contains("wrk output", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void H2load_log_gives_percentiles_of_successful_requests_and_counts_the_rest_as_errors()
    {
        // start µs, status, duration µs; 100 successes of 1..100 ms, one failed stream, one 503.
        var lines = Enumerable.Range(1, 100).Select(i => $"1700000000{i:D6}\t200\t{i * 1000}").ToList();
        lines.Insert(50, "1700000000999999\t-1\t5000000");
        lines.Add("1700000001000000\t503\t100");
        var report = FixedRateReport.Parse(string.Join('\n', lines) + "\n", offeredPerSecond: 12.5, seconds: 8);

        Assert.Equal(100, report.Completed);
        Assert.Equal(2, report.Errors);
        Assert.Equal(50, report.P50Ms);
        Assert.Equal(99, report.P99Ms);
        Assert.Equal(12.5, report.AchievedPerSecond);
        Assert.Equal(12.5, report.OfferedPerSecond);
    }

    [Fact]
    public void An_empty_h2load_log_has_no_percentiles_rather_than_zero()
    {
        var report = FixedRateReport.Parse("", 10, 8);

        Assert.Equal(0, report.Completed);
        Assert.True(double.IsNaN(report.P99Ms));
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("1700000000000000\t200")]
    [InlineData("1700000000000000\tOK\t1000")]
    [InlineData("1700000000000000\t200\t-3")]
    public void A_malformed_h2load_log_line_is_a_format_error_naming_the_line(string line)
    {
        var error = Assert.Throws<FormatException>(() => FixedRateReport.Parse("1700000000000000\t200\t1000\n" + line, 1, 1));
        Assert.Contains("line 2", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(700, 50, 32, 10.9375)]
    [InlineData(700, 50, 10_000, 0.035)]
    [InlineData(1000, 100, 1000, 1)]
    public void Fixed_rate_is_spread_evenly_over_the_connections(double saturated, int percent, int connections, double perConnection)
    {
        Assert.Equal(perConnection, FixedRateReport.PerConnectionRate(saturated, percent, connections), 9);
    }

    [Fact]
    public void No_fixed_rate_without_a_saturated_rate()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => FixedRateReport.PerConnectionRate(double.NaN, 50, 32));
        Assert.Throws<ArgumentOutOfRangeException>(() => FixedRateReport.PerConnectionRate(0, 50, 32));
    }

    [Fact]
    public void Proc_status_gives_resident_memory_in_kib()
    {
        const string Status = """
            Name:	nginx
            VmPeak:	   20000 kB
            VmRSS:	    9876 kB
            RssAnon:	    1234 kB
            RssFile:	    8600 kB
            RssShmem:	      42 kB
            Threads:	1
            """;

        Assert.Equal(new ProcessMemory(9876, 1234, 8600), ProcessMemory.Parse(Status));
    }

    [Fact]
    public void Proc_status_without_memory_lines_is_a_format_error()
    {
        Assert.Throws<FormatException>(() => ProcessMemory.Parse("Name:\tzombie\nState:\tZ (zombie)\n"));
        Assert.Throws<FormatException>(() => ProcessMemory.Parse("VmRSS:\t12 MB\nRssAnon:\t1 kB\nRssFile:\t1 kB\n"));
    }

    [Theory]
    [InlineData(30_000, 20_000, 1000, 10.0)]
    [InlineData(20_000, 20_000, 10_000, 0.0)]
    [InlineData(19_000, 20_000, 1000, -1.0)]
    public void Memory_per_connection_is_the_growth_over_the_connections(long with, long without, int connections, double expected)
    {
        Assert.Equal(expected, ProcessMemory.PerConnectionKb(with, without, connections), 9);
        Assert.True(double.IsNaN(ProcessMemory.PerConnectionKb(with, without, 0)));
    }

    [Fact]
    public void Memory_ratio_has_nothing_to_compare_against_when_nginx_grew_by_nothing()
    {
        Assert.Equal(3.0, ThroughputGoals.MemoryRatio(6, 2));
        Assert.True(double.IsNaN(ThroughputGoals.MemoryRatio(6, 0)));
        Assert.True(double.IsNaN(ThroughputGoals.MemoryRatio(6, -1)));
    }

    [Fact]
    public void Access_log_cost_is_percent_of_the_cpu_with_it_off()
    {
        Assert.Equal(2.5, ThroughputGoals.CostPercent(0.205, 0.2), 9);
        Assert.Equal(-5, ThroughputGoals.CostPercent(0.19, 0.2), 9);
        Assert.True(double.IsNaN(ThroughputGoals.CostPercent(0.2, 0)));
    }

    [Fact]
    public void Soak_growth_compares_the_last_window_with_the_first()
    {
        // Samples every 10 s for 600 s: flat at 100 MiB for the first minute, 110 MiB in the last.
        var samples = Enumerable.Range(1, 60).Select(i => (Seconds: i * 10.0, Kb: i <= 6 ? 100L * 1024 : i >= 55 ? 110L * 1024 : 105L * 1024)).ToList();

        Assert.Equal(10, ThroughputGoals.GrowthPercent(samples, 50), 9);
        Assert.True(double.IsNaN(ThroughputGoals.GrowthPercent(samples.Take(1).ToList(), 60)));
    }

    [Fact]
    public void A_cell_meets_its_goals_only_with_every_measured_ratio_inside_them()
    {
        Assert.Empty(ThroughputGoals.CellMisses(TierCase.Ram, 1.0, 1.0, 1.0, 0.9, double.NaN));
        Assert.Equal(["CPU-s/GB <= 1.0x", "throughput >= 1.0x", "p99 <= 1.0x", "fixed-rate p99 <= 1.0x"],
            ThroughputGoals.CellMisses(TierCase.Ssd, 0.9, 1.2, 1.3, 1.1, double.NaN));

        // HTTPS may cost 10 % more CPU per GB than nginx.
        Assert.Empty(ThroughputGoals.CellMisses(TierCase.Https, 1.0, 1.0, 1.1, double.NaN, double.NaN));
        Assert.Equal(["CPU-s/GB <= 1.1x"], ThroughputGoals.CellMisses(TierCase.Https, 1.0, 1.0, 1.11, double.NaN, double.NaN));

        // The log case is judged on the log's cost (and CPU-s/GB against nginx), not on latency.
        Assert.Empty(ThroughputGoals.CellMisses(TierCase.Log, 0.5, 9, 1.0, 9, 3.0));
        Assert.Equal(["log cost <= 3 %"], ThroughputGoals.CellMisses(TierCase.Log, 1, 1, 1, 1, 3.1));

        // Not measured is not met.
        Assert.Equal(["CPU-s/GB <= 1.0x"], ThroughputGoals.CellMisses(TierCase.Ram, 1, 1, double.NaN, double.NaN, double.NaN));
        Assert.Equal(["log cost <= 3 %"], ThroughputGoals.CellMisses(TierCase.Log, 1, 1, 1, 1, double.NaN));
    }

    [Fact]
    public void Cell_medians_and_cpu_per_gb_over_summed_rounds()
    {
        var runs = new[]
        {
            Run(round: 1, gigabytes: 10, cpuSeconds: 1, p99: 50, rssBefore: 10_000, rssLoaded: 12_000),
            Run(round: 2, gigabytes: 30, cpuSeconds: 5, p99: 70, rssBefore: 10_000, rssLoaded: 14_000),
        };
        var cell = new CellSummary(TierCase.Ram, "appliance", 1000, runs);

        Assert.Equal(6.0 / 40, cell.CpuSecondsPerGigabyte, 9);
        Assert.Equal(60, cell.P99Ms);
        Assert.Equal(3.0, cell.LoadedPerConnectionKb, 9);
        Assert.Equal(13_000, cell.LoadedRssKb);
    }

    [Fact]
    public void Chart_has_a_line_per_case_and_server_on_a_log_scale_and_leaves_out_what_was_not_measured()
    {
        var cells = new[]
        {
            new CellSummary(TierCase.Ram, "nginx", 32, [Run(1, 10, 1, 50, 0, 0)]),
            new CellSummary(TierCase.Ram, "nginx", 10_000, [Run(1, 10, 2, 50, 0, 0)]),
            new CellSummary(TierCase.Ram, "appliance", 32, [Run(1, 0, 1, 50, 0, 0)]),
        };

        var chart = ThroughputChart.Build("cpu", "CPU-s/GB", cells, c => c.CpuSecondsPerGigabyte);

        var nginx = Assert.Single(chart.Series);
        Assert.Equal("ram nginx", nginx.Name);
        Assert.True(nginx.Dashed);
        Assert.Equal([Math.Log10(32), 4], nginx.X);
        Assert.Equal([0.1, 0.2], nginx.Y);
        chart.Validate();
    }

    private static RunResult Run(int round, double gigabytes, double cpuSeconds, double p99, long rssBefore, long rssLoaded) =>
        new(TierCase.Ram, "appliance", 1000, round, new WrkReport(100, 10, gigabytes * 1e9, 10, gigabytes * 1e8, 20, p99, 0, 0, 0), cpuSeconds, 50, 90, null)
        {
            RssBefore = new ProcessMemory(rssBefore, 0, 0),
            RssLoaded = new ProcessMemory(rssLoaded, 0, 0),
        };
}
