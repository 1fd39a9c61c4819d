using OpenConnect.Steering.Fleet;

namespace OpenConnect.Steering.Tests.Fleet;

/// <summary>When a reload issues steering's own certificate again, and the names it carries.</summary>
public sealed class SteeringCertificateTests
{
    private static readonly DateTime Issued = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    [Theory]
    [InlineData(0, false)]
    [InlineData(242, false)]
    [InlineData(244, true)]
    [InlineData(400, true)]
    public void RenewalIsDue_PastTwoThirdsOfTheLifetime(int daysAfterIssue, bool due) =>
        Assert.Equal(due, SteeringCertificate.RenewalDue(Issued, Issued.AddDays(365), new DateTimeOffset(Issued.AddDays(daysAfterIssue))));

    [Fact]
    public void HostNames_TakeTheConfiguredNamesAndTheListenerHosts_WithoutWildcardsOrRepeats() =>
        Assert.Equal(
            ["steering.isp.example", "10.0.0.2", "127.0.0.1"],
            SteeringCertificate.HostNames(["steering.isp.example", "10.0.0.2"], ["0.0.0.0", "127.0.0.1", "[::]", "STEERING.isp.example", "*", "+"]));
}
