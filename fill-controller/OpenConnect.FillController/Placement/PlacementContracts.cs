namespace OpenConnect.FillController.Placement;

/// <summary>A file: one rendition of a title, the unit that is forecast, placed and filled.</summary>
public readonly record struct FileId(string Title, string Rendition)
{
    public override string ToString() => $"{Title}/{Rendition}";
}

/// <summary>An appliance as placement sees it: its id (hashed as steering hashes it) and the SSD bytes fill may use.</summary>
public sealed record PlacementAppliance(string ApplianceId, long CapacityBytes);

/// <summary>Tomorrow's expected requests for a file in a site, and its size.</summary>
public sealed record FileForecast(FileId File, long Bytes, double ExpectedRequests);

/// <summary>Which files each appliance of a site should hold on <see cref="Day"/>.</summary>
public sealed record SitePlacement(string Site, DateOnly Day, IReadOnlyDictionary<string, IReadOnlyList<FileId>> ByAppliance);

/// <summary>Next-day demand per file for a site, from smoothed play history (new titles get a prior).</summary>
public interface IPopularityForecast
{
    ValueTask<IReadOnlyList<FileForecast>> ForecastAsync(string site, DateOnly day, CancellationToken cancellationToken);
}

/// <summary>Decides what each appliance of a site holds; pure: the same inputs give the same placement.</summary>
public interface IPlacementPlanner
{
    SitePlacement Plan(string site, DateOnly day, IReadOnlyList<PlacementAppliance> appliances, IReadOnlyList<FileForecast> forecast, SitePlacement? previous);
}
