using OpenConnect.Contracts.Hosting;

namespace OpenConnect.FillController.Placement;

/// <summary>Placement settings (section <c>FillController:Placement</c>).</summary>
public sealed class PlannerOptions
{
    /// <summary>
    /// What fetching a file the site did not hold yesterday costs, in expected requests of that
    /// file: a newcomer displaces a held file only when it is expected to be requested this many
    /// times more tomorrow. Default 1: one fetch moves the file's bytes once, as one request from
    /// the origin would.
    /// </summary>
    public double FetchCostRequests { get; set; } = 1.0;

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
