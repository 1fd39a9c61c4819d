using OpenConnect.Testing;
using OpenConnect.Testing.Fleet;

namespace OpenConnect.Fleet.Tests;

/// <summary>
/// One bed for the whole collection, with one title published through the origin's real pipeline
/// (a 40 s source, 2 s segments). Each test leaves the bed as it found it (<see cref="ResetAsync"/>).
/// </summary>
public sealed class FleetFixture : IAsyncLifetime
{
    private FleetBed? _bed;
    private string? _title;

    /// <summary>The bed; throws the root requirement when not root (tests are skipped then, except in CI).</summary>
    public FleetBed Bed => _bed ?? throw new InvalidOperationException(FleetBed.IsRoot ? "the fleet bed did not start (see the fixture's error)" : FleetBed.NotRootMessage);

    public string Title => _title ?? throw new InvalidOperationException("no title was published on the bed");

    public async Task InitializeAsync()
    {
        if (!FleetBed.IsRoot)
        {
            return;
        }

        var source = await SampleMedia.GetAsync(new SampleSpec("testsrc2-360p-40s", 640, 360, 40, "mp4"));
        _bed = await FleetBed.StartAsync();
        _title = await _bed.PublishAsync(source);
    }

    /// <summary>
    /// Publishes a new 10 s title through the origin's pipeline (a title no appliance holds yet,
    /// for a test that must see it travel: a fill).
    /// </summary>
    public async Task<string> PublishNewTitleAsync()
    {
        var source = await SampleMedia.GetAsync(new SampleSpec("testsrc2-360p-10s", 640, 360, 10, "mp4"));
        return await Bed.PublishAsync(source);
    }

    /// <summary>Every appliance enrolled and running, no partition, steering counting all four eligible.</summary>
    public async Task ResetAsync()
    {
        foreach (var (id, role) in Bed.Appliances.ToList())
        {
            await Bed.HealAsync(id);
            if (Bed.Removed.Contains(id))
            {
                await Bed.ReenrollApplianceAsync(id);
            }
            else if (!role.Running)
            {
                await Bed.RestartApplianceAsync(id);
            }
        }

        await Bed.WaitForEligibleAppliancesAsync(Bed.Appliances.Count);
    }

    public async Task DisposeAsync()
    {
        if (_bed is not null)
        {
            await _bed.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class FleetCollection : ICollectionFixture<FleetFixture>
{
    public const string Name = "fleet bed";
}
