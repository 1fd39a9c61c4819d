using OpenConnect.Contracts.Hosting;

namespace OpenConnect.Contracts.Tests;

/// <summary>One rule for appliance ids and site names in every role.</summary>
public sealed class IdentifiersTests
{
    [Theory]
    [InlineData("isp1", true)]
    [InlineData("oca-1.fra_2", true)]
    [InlineData("a", true)]
    [InlineData("", false)]
    [InlineData(null, false)]
    [InlineData("my site", false)]
    [InlineData("isp/1", false)]
    [InlineData("../isp1", false)]
    [InlineData("café", false)]
    [InlineData("isp1\n", false)]
    public void IsValid_AcceptsOnlyAsciiLettersDigitsDotsUnderscoresAndDashes(string? value, bool valid) =>
        Assert.Equal(valid, Identifiers.IsValid(value));

    [Fact]
    public void IsValid_AllowsAtMost64Characters()
    {
        Assert.True(Identifiers.IsValid(new string('a', Identifiers.MaxLength)));
        Assert.False(Identifiers.IsValid(new string('a', Identifiers.MaxLength + 1)));
    }
}
