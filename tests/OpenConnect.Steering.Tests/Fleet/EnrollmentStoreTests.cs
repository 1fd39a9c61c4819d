using Microsoft.Extensions.Time.Testing;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Steering.Fleet;
using OpenConnect.Testing;

namespace OpenConnect.Steering.Tests.Fleet;

/// <summary>
/// The enrollment records as steering replicas sharing one fleet directory see them: two stores on
/// one directory stand for two replicas; each must see the other's changes and never write back an
/// old copy of the other's records.
/// </summary>
public sealed class EnrollmentStoreTests : IDisposable
{
    private readonly TempDirectory _directory = new("openconnect-enrollment-store");
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    private static readonly FleetIdentity A1 = FleetIdentity.Appliance("isp1", "a1");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void ARemovalOnOneStore_RevokesOnAnotherStoreOfTheSameDirectory_WithoutARestart()
    {
        var first = new EnrollmentStore(_directory.Path, _time);
        var second = new EnrollmentStore(_directory.Path, _time);
        var code = first.Add("a1", "isp1", TimeSpan.FromHours(1)).Code;
        first.Redeem(code, _ => "serial-1");
        var issued = _time.GetUtcNow();
        Assert.False(second.IsRevoked(A1, issued));
        Assert.True(second.IsActive(A1));

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(Removal.Removed, first.Remove("a1"));
        Assert.True(second.IsRevoked(A1, issued));
        Assert.False(second.IsActive(A1));
        Assert.Empty(second.List());

        // The second replica's own removal finds it removed already.
        Assert.Equal(Removal.AlreadyRemoved, second.Remove("a1"));
    }

    [Fact]
    public void AChangeOnOneStore_KeepsWhatTheOtherAddedSinceItLastRead()
    {
        var first = new EnrollmentStore(_directory.Path, _time);
        var second = new EnrollmentStore(_directory.Path, _time);
        Assert.Empty(second.List());
        first.Add("a1", "isp1", TimeSpan.FromHours(1));
        first.Add("a2", "isp1", TimeSpan.FromHours(1));

        // second last read an empty file; its change is made on the file as it is now.
        second.Add("b1", "isp2", TimeSpan.FromHours(1));
        Assert.Equal(Removal.Removed, second.Remove("a2"));
        Assert.Equal(["a1", "b1"], first.List().Select(r => r.Id));
        Assert.Equal(["a1", "b1"], new EnrollmentStore(_directory.Path, _time).List().Select(r => r.Id));
    }

    [Fact]
    public void AnApplianceWithoutARecord_IsRemovedWhenItHeartbeats_AndUnknownOtherwise()
    {
        var store = new EnrollmentStore(_directory.Path, _time);
        Assert.Equal(Removal.Unknown, store.Remove("a1"));
        Assert.False(store.IsRevoked(A1, _time.GetUtcNow()));

        // Enrolled on a replica with its own copy of the fleet directory, heartbeating here as isp1.
        var issued = _time.GetUtcNow();
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(Removal.Removed, store.Remove("a1", registeredSite: "isp1"));
        Assert.True(store.IsRevoked(A1, issued));

        // Added again (every replica given the same code) it enrolls anew; its old certificate stays revoked.
        var code = store.Add("a1", "isp1", TimeSpan.FromHours(1), "0123456789abcdef0123456789abcdef01234567").Code;
        Assert.Equal("0123456789abcdef0123456789abcdef01234567", code);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(A1, store.Redeem(code, _ => "serial-2"));
        Assert.False(store.IsRevoked(A1, _time.GetUtcNow()));
        Assert.True(store.IsRevoked(A1, issued));
        var reused = Assert.Throws<FleetRequestException>(() => store.Add("a1", "isp1", TimeSpan.FromHours(1), code));
        Assert.Equal("this enrollment code was already used", reused.Message);
    }

    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef01234567", true)]
    [InlineData("0123456789ABCDEF0123456789abcdef01234567", false)]
    [InlineData("0123456789abcdef0123456789abcdef0123456", false)]
    [InlineData("0123456789abcdef0123456789abcdef012345678", false)]
    [InlineData("0123456789abcdef0123456789abcdef0123456g", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void IsValidCode_TakesFortyLowercaseHexDigits(string? code, bool valid) => Assert.Equal(valid, EnrollmentStore.IsValidCode(code));
}
