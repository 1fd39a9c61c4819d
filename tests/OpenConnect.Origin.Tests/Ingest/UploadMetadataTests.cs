using OpenConnect.Origin.Ingest;

namespace OpenConnect.Origin.Tests.Ingest;

public sealed class UploadMetadataTests
{
    [Theory]
    [InlineData("", 0)]
    [InlineData("title dGl0bGU=", 1)]
    [InlineData("title dGl0bGU=,empty", 2)]
    [InlineData("title dGl0bGU=, tags YSxi", 2)]
    public void ValidHeaders_Parse(string header, int count)
    {
        Assert.Null(UploadMetadata.TryParse(header, out var metadata));
        Assert.Equal(count, metadata.Count);
    }

    [Fact]
    public void Values_AreDecodedAsUtf8()
    {
        Assert.Null(UploadMetadata.TryParse("title " + Convert.ToBase64String("Überfahrt"u8.ToArray()) + ",tags YSxi", out var metadata));
        Assert.Equal("Überfahrt", metadata["title"]);
        Assert.Equal("a,b", metadata["tags"]);
    }

    [Theory]
    [InlineData("title dGl0bGU", "base64")]
    [InlineData("title !!!!", "base64")]
    [InlineData("title dGl0bGU= extra", "more than one")]
    [InlineData("title dGl0bGU=,title dGl0bGU=", "twice")]
    [InlineData("title dGl0bGU=,,tags YSxi", "empty pair")]
    [InlineData("title /w==", "UTF-8")]
    public void InvalidHeaders_AreRejected_WithAReason(string header, string expected)
    {
        var error = UploadMetadata.TryParse(header, out _);
        Assert.NotNull(error);
        Assert.Contains(expected, error);
    }
}
