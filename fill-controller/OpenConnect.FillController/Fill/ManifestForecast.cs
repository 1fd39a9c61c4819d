using OpenConnect.Contracts.Fill.V1;
using OpenConnect.FillController.Placement;

namespace OpenConnect.FillController.Fill;

/// <summary>
/// The forecast a night manifest carries to the appliance (<see cref="FillManifest.Forecast"/>): the
/// site's per-file forecast summed per title (a title's renditions share its plays), most played first,
/// titles with no demand left out, at most <see cref="MaxTitles"/> so a large catalogue's long tail
/// does not bloat every manifest (the appliance's policy gives titles the forecast does not name no prior).
/// </summary>
public static class ManifestForecast
{
    public const int MaxTitles = 50_000;

    public static IReadOnlyList<TitleForecast> Of(IEnumerable<FileForecast> files, int maxTitles = MaxTitles)
    {
        var plays = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            if (double.IsFinite(file.ExpectedRequests) && file.ExpectedRequests > 0)
            {
                plays[file.File.Title] = plays.GetValueOrDefault(file.File.Title) + file.ExpectedRequests;
            }
        }

        return [.. plays
            .OrderByDescending(p => p.Value)
            .ThenBy(p => p.Key, StringComparer.Ordinal)
            .Take(maxTitles)
            .Select(p => new TitleForecast { Title = p.Key, Plays = p.Value })];
    }
}
