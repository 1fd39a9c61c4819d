
namespace OpenConnect.Hosting.Tests;

public sealed class OptionsCheckTests
{
    [Theory]
    [InlineData("http://127.0.0.1:8100", true)]
    [InlineData("https://origin.example/", true)]
    [InlineData("ftp://origin.example/", false)]
    [InlineData("origin:8100", false)]
    [InlineData("/relative", false)]
    [InlineData("", false)]
    public void RequireAbsoluteHttpUri_AcceptsOnlyHttpUrls(string value, bool valid)
    {
        var check = new OptionsCheck("Appliance");
        check.RequireAbsoluteHttpUri(value, "Parents:0");
        Assert.Equal(valid, check.Errors.Count == 0);
        if (!valid)
        {
            Assert.StartsWith("Appliance:Parents:0 = ", check.Errors[0]);
        }
    }

    [Fact]
    public void Require_NamesTheFullKeyAndValue()
    {
        var check = new OptionsCheck("Appliance");
        check.Require(false, "Cache:RamBytes", -1, "must be positive");
        check.Require(true, "Cache:SsdBytes", 1, "must be positive");
        var error = Assert.Single(check.Errors);
        Assert.Equal("Appliance:Cache:RamBytes = '-1' is invalid: must be positive", error);
    }
}
