using OpenConnect.Contracts.Placement;
using OpenConnect.FillController.Placement;

namespace OpenConnect.FillController.Fill;

/// <summary>
/// An appliance as the fill controller knows it from steering's roster; <see cref="ParentUrl"/>: its
/// parent listener (https, fleet certificates), empty when it has none.
/// </summary>
public sealed record RosterEntry(string ApplianceId, string Site, string PublicUrl, long SsdBytes, DateTimeOffset LastHeartbeat, string ParentUrl = "")
{
    /// <summary>Where peers fill from it: its parent listener over fleet TLS when it has one, else its public URL.</summary>
    public string FillUrl => ParentUrl.Length > 0 ? ParentUrl : PublicUrl;
}

/// <summary>
/// Where an appliance fetches a file from, best first: appliances of its own site that reported the
/// file complete (cheapest: traffic stays inside the ISP site), then appliances of other sites that
/// hold it, then the origin. An appliance is named by its parent listener (fleet TLS) when it has one. Within each group the order is the title's rendezvous ranking, so
/// every appliance asks the same peer first and that peer's RAM tier serves the rest.
/// </summary>
public static class SourceRanking
{
    public static IReadOnlyList<string> Rank(FileId file, string applianceId, string site, IEnumerable<string> holders, IReadOnlyDictionary<string, RosterEntry> roster, string originUrl)
    {
        var titleHash = Rendezvous.HashTitle(file.Title);
        var known = holders
            .Where(id => id != applianceId && roster.ContainsKey(id))
            .Distinct(StringComparer.Ordinal)
            .Select(id => roster[id])
            .OrderBy(a => a.Site == site ? 0 : 1)
            .ThenByDescending(a => Rendezvous.Score(titleHash, Rendezvous.HashId(a.ApplianceId), 1))
            .Select(a => a.FillUrl.TrimEnd('/'))
            .ToList();
        known.Add(originUrl.TrimEnd('/'));
        return known;
    }
}
