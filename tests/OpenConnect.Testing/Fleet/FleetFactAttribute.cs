using Xunit;

namespace OpenConnect.Testing.Fleet;

/// <summary>
/// A test on the multi-host bed (network namespaces need root). Not root: skipped with the reason,
/// except in CI (<c>CI=true</c>), where the test runs and fails with a clear message, so a CI job
/// that lost its root never goes green by skipping.
/// </summary>
public sealed class FleetFactAttribute : FactAttribute
{
    public FleetFactAttribute()
    {
        if (!FleetBed.IsRoot && !FleetBed.IsCi)
        {
            Skip = FleetBed.NotRootMessage;
        }
    }
}
