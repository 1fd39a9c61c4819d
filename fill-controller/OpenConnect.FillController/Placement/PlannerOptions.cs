using OpenConnect.Hosting;

namespace OpenConnect.FillController.Placement;

/// <summary>Placement settings (section <c>FillController:Placement</c>).</summary>
public sealed class PlannerOptions
{
    /// <summary>
    /// What fetching a file the site did not hold yesterday costs, in expected plays of that file:
    /// a newcomer displaces a held file only when it is expected to be played this many times more
    /// tomorrow. It orders, it does not exclude: a newcomer expected below it still takes room no
    /// held file and no newcomer above its cost wants. Default 0.1: a fetch moves the file's bytes
    /// in the off-peak window, inside the night's budget, while a play moves its bytes at peak; a
    /// high cost makes the plan follow the forecast slowly. Measured in <c>bench fill-sim</c>
    /// (bench/RESULTS.md, run 5).
    /// </summary>
    public double FetchCostRequests { get; set; } = 0.1;

    /// <summary>
    /// Share of an average appliance's expected requests one copy of a file may carry before the
    /// file gets another copy (up to one per appliance). Default 0.02.
    /// </summary>
    public double CopyLoadShare { get; set; } = 0.02;

    private static string Key(string section, string name) => section.Length == 0 ? name : $"{section}:{name}";

    public void Validate(OptionsCheck check, string key)
    {
        check.Require(FetchCostRequests >= 0 && double.IsFinite(FetchCostRequests), Key(key, "FetchCostRequests"), FetchCostRequests, "must be a finite number >= 0");
        check.Require(CopyLoadShare > 0 && CopyLoadShare <= 1, Key(key, "CopyLoadShare"), CopyLoadShare, "must be in (0, 1]");
    }
}
