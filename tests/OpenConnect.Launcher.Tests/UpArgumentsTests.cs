using OpenConnect.Launcher.Cli;
using OpenConnect.Launcher.Enrollment;

namespace OpenConnect.Launcher.Tests;

public sealed class UpArgumentsTests
{
    [Fact]
    public void Parse_TakesRunShsOptions()
    {
        var args = UpArguments.Parse(["--state-dir", "/s", "--origin-port", "8100", "--steering-port", "8200", "--fill-port", "8300", "--appliance-ports", "8400,8401", "--web-dir", "/w"]);
        Assert.Equal(new UpArguments("/s", 8100, 8200, 8300, args.AppliancePorts, "/w", null), args);
        Assert.Equal(42, UpArguments.Parse(["--owner", "42", "--state-dir", "/s", "--origin-port", "1", "--steering-port", "2", "--fill-port", "3", "--appliance-ports", "4"]).OwnerPid);
        Assert.Equal([8400, 8401], args.AppliancePorts);
    }

    [Theory]
    [InlineData("--origin-port=1", "unknown option --origin-port=1")]
    [InlineData("--fill-port", "--fill-port needs a value")]
    [InlineData("--appliance-ports 8400,x", "--appliance-ports: 'x' is not a valid port")]
    [InlineData("--origin-port 70000", "--origin-port: '70000' is not a valid port")]
    [InlineData("--origin-port -1", "--origin-port: '-1' is not a valid port")]
    [InlineData("--owner 0", "--owner: '0' is not a process id")]
    public void Parse_RefusesBadInput_SayingWhatIsWrong(string given, string message)
    {
        var error = Assert.Throws<UsageException>(() => UpArguments.Parse(given.Split(' ')));
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Parse_NamesTheFirstMissingOption()
    {
        Assert.Equal("--fill-port is required", Assert.Throws<UsageException>(() => UpArguments.Parse(["--state-dir", "/s", "--origin-port", "1", "--steering-port", "2"])).Message);
    }

    [Theory]
    [InlineData("{\"code\":\"ab\"}\n200\n", 200, "{\"code\":\"ab\"}")]
    [InlineData("\n000", 0, "")]
    [InlineData("", 0, "")]
    [InlineData("line1\nline2\n403", 403, "line1\nline2")]
    public void ParseCurl_SplitsBodyAndStatus(string output, int status, string body)
    {
        Assert.Equal((status, body), EnrollmentClient.ParseCurl(output));
    }
}
