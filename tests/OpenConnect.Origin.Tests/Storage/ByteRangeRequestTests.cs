using OpenConnect.Origin.Storage;

namespace OpenConnect.Origin.Tests.Storage;

public sealed class ByteRangeRequestTests
{
    [Theory]
    [InlineData("bytes=0-99", 1000, 0L, 99L)]
    [InlineData("bytes=100-", 1000, 100L, 999L)]
    [InlineData("bytes=900-5000", 1000, 900L, 999L)]
    [InlineData("bytes=-300", 1000, 700L, 999L)]
    [InlineData("bytes=-5000", 1000, 0L, 999L)]
    [InlineData("bytes=999-999", 1000, 999L, 999L)]
    public void OneSatisfiableRange_IsItsFirstAndLastByte(string header, long length, long from, long to) =>
        Assert.Equal((from, to), ByteRangeRequest.Single(header, length));

    [Theory]
    [InlineData(null, 1000)]
    [InlineData("", 1000)]
    [InlineData("bytes=0-9,20-29", 1000)] // several ranges: served whole
    [InlineData("bytes=1000-", 1000)] // unsatisfiable: 416, nothing read
    [InlineData("bytes=-0", 1000)]
    [InlineData("bytes=50-10", 1000)]
    [InlineData("items=0-9", 1000)]
    [InlineData("bytes=x-y", 1000)]
    [InlineData("bytes=0-9", 0)]
    public void NoSingleRange_IsNull(string? header, long length) =>
        Assert.Null(ByteRangeRequest.Single(header, length));
}
