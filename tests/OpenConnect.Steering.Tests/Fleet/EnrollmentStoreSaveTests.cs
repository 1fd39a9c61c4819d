using Microsoft.Extensions.Time.Testing;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Steering.Fleet;
using OpenConnect.Testing;

namespace OpenConnect.Steering.Tests.Fleet;

/// <summary>A change whose write fails leaves the store's records as they were: nothing half-applied in memory.</summary>
public sealed class EnrollmentStoreSaveTests : IDisposable
{
    private static readonly FleetIdentity A1 = FleetIdentity.Appliance("isp1", "a1");

    private readonly TempDirectory _directory = new("openconnect-enrollment-save");
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void AFailedWrite_LeavesTheRecordsUnchanged_AndTheCodeUnspent()
    {
        var store = new EnrollmentStore(_directory.Path, _time);
        var code = store.Add("a1", "isp1", TimeSpan.FromHours(1)).Code;
        var file = Path.Combine(_directory.Path, EnrollmentStore.FileName);

        // A directory where the file goes: every rename onto it fails, as on a full or failing disk.
        File.Delete(file);
        Directory.CreateDirectory(file);
        var issued = 0;
        AssertWriteFails(() => store.Redeem(code, _ =>
        {
            issued++;
            return "serial-1";
        }));
        AssertWriteFails(() => store.Add("a2", "isp1", TimeSpan.FromHours(1)));
        AssertWriteFails(() => store.Remove("a1"));

        Assert.Equal(1, issued);
        Assert.True(store.IsActive(A1));
        Assert.False(store.IsRevoked(A1, _time.GetUtcNow()));
        var record = Assert.Single(store.List());
        Assert.Equal("a1", record.Id);
        Assert.Empty(record.Serials);
        Assert.NotNull(record.CodeSha256);
        Assert.Empty(Directory.GetFiles(_directory.Path, "*.tmp"));

        // Writable again: the code, never recorded as spent, enrolls the appliance once.
        Directory.Delete(file);
        Assert.Equal(A1, store.Redeem(code, _ => "serial-2"));
        Assert.Equal(["serial-2"], Assert.Single(new EnrollmentStore(_directory.Path, _time).List()).Serials);
        Assert.Throws<FleetRequestException>(() => store.Redeem(code, _ => "serial-3"));
    }

    private static void AssertWriteFails(Action change)
    {
        var failure = Record.Exception(change);
        Assert.True(failure is IOException or UnauthorizedAccessException, $"expected the write to fail, got {failure?.GetType().Name ?? "no exception"}");
    }
}
