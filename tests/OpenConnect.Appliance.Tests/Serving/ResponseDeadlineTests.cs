using OpenConnect.Appliance.Serving;

namespace OpenConnect.Appliance.Tests.Serving;

/// <summary>The response deadline: grace plus the bytes out at the minimum rate, moved by time spent waiting for a parent.</summary>
public sealed class ResponseDeadlineTests
{
    [Theory]
    [InlineData(0, 1000, 1.0, 2.0)]
    [InlineData(1000, 1000, 1.0, 3.0)]
    [InlineData(10_000, 0, 0.0, 10.0)]
    public void Allowed_IsGracePlusTheBytesAtTheMinimumRate(long sent, long next, double graceSeconds, double expectedSeconds)
    {
        var deadline = new ResponseDeadline(0, TimeSpan.FromSeconds(graceSeconds), 1000);
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), deadline.Allowed(sent, next));
    }

    [Theory]
    [InlineData(0, 1000, 1.5, 500)]
    [InlineData(2000, 1000, 1.5, 2500)]
    [InlineData(0, 1000, 5.0, 1)]
    public void Remaining_CountsTheBytesAlreadySent(long sent, long next, double elapsedSeconds, double expectedMilliseconds)
    {
        var deadline = new ResponseDeadline(0, TimeSpan.FromSeconds(1), 1000);
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMilliseconds), deadline.Remaining(sent, next, TimeSpan.FromSeconds(elapsedSeconds)));
    }

    [Fact]
    public void NoMinimumRate_NeverExpires()
    {
        var deadline = new ResponseDeadline(0, TimeSpan.FromSeconds(1), 0);
        Assert.Equal(Timeout.InfiniteTimeSpan, deadline.Remaining(0, 1 << 30, TimeSpan.FromHours(1)));
    }

    [Fact]
    public void WaitingForTheParent_MovesTheDeadline()
    {
        var deadline = new ResponseDeadline(1_000, TimeSpan.FromSeconds(1), 1000);
        var moved = deadline.After(5_000);
        Assert.Equal(6_000, moved.Started);
        Assert.Equal(deadline.Allowed(10, 10), moved.Allowed(10, 10));
    }
}
