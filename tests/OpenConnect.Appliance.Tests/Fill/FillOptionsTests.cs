using OpenConnect.Hosting;

namespace OpenConnect.Appliance.Tests.Fill;

public sealed class FillOptionsTests
{
    [Theory]
    [InlineData("", true)]
    [InlineData("https://10.0.0.3:8380", true)]
    [InlineData("https://[2001:2::3]:8380", true)]
    [InlineData("http://10.0.0.3:8380", false)]
    [InlineData("h2c://10.0.0.3:8380", false)]
    [InlineData("10.0.0.3:8380", false)]
    public void ControllerUrl_IsEmptyOrHttps_TheControllerTakesOnlyMutualTls(string url, bool valid)
    {
        var check = new OptionsCheck("Appliance");
        new FillOptions { ControllerUrl = url }.Validate(check);
        if (valid)
        {
            Assert.Empty(check.Errors);
        }
        else
        {
            var error = Assert.Single(check.Errors);
            Assert.Contains("Appliance:Fill:ControllerUrl", error, StringComparison.Ordinal);
            Assert.Contains("https://", error, StringComparison.Ordinal);
        }
    }
}
