namespace OpenConnect.Hosting.Tests;

public sealed class ListenUrlsTests
{
    [Theory]
    [InlineData("http://*:8400", true, "http", 8400)]
    [InlineData("http://+:8400", true, "http", 8400)]
    [InlineData("https://*:443", true, "https", 443)]
    [InlineData("http://0.0.0.0:8400", false, "http", 8400)]
    [InlineData("http://[::]:8400", false, "http", 8400)]
    [InlineData("http://[::1]:0", false, "http", 0)]
    [InlineData("http://127.0.0.1:9400", false, "http", 9400)]
    [InlineData("http://localhost:9400", false, "http", 9400)]
    public void Parse_KeepsTheWildcard_AndTheExplicitAddresses(string text, bool any, string scheme, int port)
    {
        var url = Assert.Single(ListenUrls.Parse(text));
        Assert.Equal(any, url.AnyAddress);
        Assert.Equal(scheme, url.Scheme);
        Assert.Equal(port, url.Port);
    }

    [Fact]
    public void Parse_SplitsOnSemicolons()
    {
        var urls = ListenUrls.Parse("http://127.0.0.1:8400; http://[::1]:8400");
        Assert.Equal(["127.0.0.1", "[::1]"], urls.Select(u => u.Uri.Host));
    }

    [Theory]
    [InlineData("http://127.0.0.1", "with a port")]
    [InlineData("ftp://127.0.0.1:21", "with a port")]
    [InlineData("127.0.0.1:9400", "with a port")]
    [InlineData("http://management.example:9400", "not a host name")]
    [InlineData("http://127.0.0.1:9400/metrics", "must not have a path")]
    [InlineData("", "no address")]
    public void Parse_RefusesWhatKestrelCannotBindExplicitly_NamingTheSetting(string text, string problem)
    {
        var error = Assert.Throws<InvalidOperationException>(() => ListenUrls.Parse(text, "Management:Url"));
        Assert.StartsWith("Management:Url: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:9400", true)]
    [InlineData("http://[::1]:0", true)]
    [InlineData("http://*:9400", true)]
    [InlineData("https://127.0.0.1:9400", false)]
    [InlineData("http://127.0.0.1:9400;http://[::1]:9400", false)]
    [InlineData("http://127.0.0.1", false)]
    [InlineData("nonsense", false)]
    public void ManagementOptions_AcceptOneCleartextAddress(string url, bool valid)
    {
        var check = new OptionsCheck(ManagementOptions.SectionName);
        new ManagementOptions { Url = url }.Validate(check);
        Assert.Equal(valid, check.Errors.Count == 0);
        Assert.All(check.Errors, e => Assert.StartsWith($"Management:Url = '{url}' is invalid: ", e, StringComparison.Ordinal));
    }
}
