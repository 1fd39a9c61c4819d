using OpenConnect.Bench.Throughput;

namespace OpenConnect.Bench.Tests;

public sealed class ThroughputSettingsTests
{
    [Fact]
    public void Defaults_cover_every_case_and_connection_count_the_issue_names()
    {
        var settings = ThroughputSettings.Parse([]);

        Assert.Equal([TierCase.Ram, TierCase.Ssd, TierCase.Https, TierCase.Log], settings.Cases);
        Assert.Equal([32, 1000, 10_000], settings.Connections);
        Assert.Equal(50, settings.FixedRatePercent);
        Assert.True(settings.Memory);
        Assert.True(settings.WarmupCheck);
        Assert.Equal(0, settings.SoakSeconds);
        Assert.Equal(ThroughputSettings.DefaultChartPath, settings.ChartPath);
        Assert.Equal(10_000, settings.MaxConnections);
        Assert.False(settings.Epoll);
    }

    [Fact]
    public void Every_new_piece_is_selectable()
    {
        var settings = ThroughputSettings.Parse(
        [
            "--cases", "https,log", "--connections", "10000", "--fixed-rate", "0", "--memory", "off", "--warmup-check", "off", "--soak", "600", "--chart", "none", "--transport", "epoll",
        ]);

        Assert.Equal([TierCase.Https, TierCase.Log], settings.Cases);
        Assert.Equal([10_000], settings.Connections);
        Assert.Equal(0, settings.FixedRatePercent);
        Assert.False(settings.Memory);
        Assert.False(settings.WarmupCheck);
        Assert.Equal(600, settings.SoakSeconds);
        Assert.Null(settings.ChartPath);
        Assert.True(settings.Epoll);
    }

    [Theory]
    [InlineData("--cases", "ram,tls", "not a case")]
    [InlineData("--cases", "ram,ram", "twice")]
    [InlineData("--connections", "32,10001", "from 1 to 10000")]
    [InlineData("--connections", "32,,1000", "without empty items")]
    [InlineData("--memory", "yes", "on or off")]
    [InlineData("--warmup-check", "1", "on or off")]
    [InlineData("--fixed-rate", "150", "from 0 to 100")]
    [InlineData("--soak", "20", "too short")]
    [InlineData("--soak", "-5", "whole number")]
    [InlineData("--chart", "charts/", "not a file path")]
    [InlineData("--transport", "uring", "kestrel or epoll")]
    [InlineData("--bogus", "1", "unknown option")]
    public void Bad_options_are_a_clear_usage_error(string name, string value, string message)
    {
        var error = Assert.Throws<BenchUsageException>(() => ThroughputSettings.Parse([name, value]));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_option_without_its_value_is_a_usage_error()
    {
        var error = Assert.Throws<BenchUsageException>(() => ThroughputSettings.Parse(["--soak"]));
        Assert.Contains("needs a value", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(32, 8, 8, 5)]
    [InlineData(1000, 8, 8, 5)]
    [InlineData(10_000, 8, 14, 50)]
    [InlineData(10_000, 30, 30, 50)]
    public void Ten_thousand_connections_get_a_longer_run_and_timeout(int connections, int seconds, int expectedSeconds, int expectedTimeout)
    {
        var settings = ThroughputSettings.Parse(["--seconds", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

        Assert.Equal(expectedSeconds, settings.SaturationSeconds(connections));
        Assert.Equal(expectedTimeout, ThroughputSettings.WrkTimeoutSeconds(connections));
    }
}
