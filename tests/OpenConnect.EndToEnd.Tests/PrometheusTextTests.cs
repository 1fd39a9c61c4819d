using OpenConnect.Testing;

namespace OpenConnect.EndToEnd.Tests;

/// <summary>The exposition checker must itself reject what Prometheus rejects, or the role tests prove nothing.</summary>
public sealed class PrometheusTextTests
{
    private const string Valid = """
        # HELP requests_total Requests served.
        # TYPE requests_total counter
        requests_total{tier="ram",code="200"} 10
        requests_total{tier="ssd",code="200"} 3 1700000000000
        # TYPE latency_seconds histogram
        latency_seconds_bucket{le="0.1"} 1
        latency_seconds_bucket{le="1"} 2
        latency_seconds_bucket{le="+Inf"} 2
        latency_seconds_sum 0.7
        latency_seconds_count 2
        # TYPE up gauge
        up NaN

        """;

    [Fact]
    public void Parse_AcceptsValidExposition_AndReadsValues()
    {
        var document = PrometheusText.Parse(Valid.Replace("\r\n", "\n"));
        Assert.True(document.IsValid, string.Join("; ", document.Errors));
        Assert.Equal(10, document.Value("requests_total", ("tier", "ram"), ("code", "200")));
        Assert.Equal("histogram", document.Families["latency_seconds"].Type);
        Assert.Equal(5, document.Families["latency_seconds"].Samples.Count);
    }

    [Theory]
    [InlineData("1bad_name 1\n", "invalid metric name")]
    [InlineData("m{tier=ram} 1\n", "not quoted")]
    [InlineData("m{tier=\"ram} 1\n", "not terminated")]
    [InlineData("m{9x=\"a\"} 1\n", "invalid label name")]
    [InlineData("m{a=\"1\",a=\"2\"} 1\n", "repeated")]
    [InlineData("m one\n", "invalid value")]
    [InlineData("m 1 soon\n", "invalid timestamp")]
    [InlineData("m\n", "missing value")]
    [InlineData("m 1\nm 2\n", "duplicate sample")]
    [InlineData("# TYPE m sometimes\nm 1\n", "unknown type")]
    [InlineData("m 1\n# TYPE m counter\n", "TYPE for 'm' after its samples")]
    [InlineData("a 1\nb 1\na{x=\"1\"} 2\n", "not contiguous")]
    [InlineData("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", "+Inf")]
    [InlineData("# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"+Inf\"} 2\n", "decrease")]
    [InlineData("m 1", "line feed")]
    public void Parse_RejectsMalformedExposition(string text, string expected)
    {
        var document = PrometheusText.Parse(text);
        Assert.False(document.IsValid);
        Assert.Contains(document.Errors, e => e.Contains(expected, StringComparison.Ordinal));
    }
}
