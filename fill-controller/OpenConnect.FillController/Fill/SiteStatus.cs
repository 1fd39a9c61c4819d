namespace OpenConnect.FillController.Fill;

/// <summary>
/// One title in a site: its planned copies ((appliance, file) pairs) and how many are complete;
/// <see cref="CopiesHeld"/> of the pending ones are held back until a first copy in the site completes.
/// </summary>
public sealed record TitleStatus(string Title, int CopiesPlanned, int CopiesComplete, int CopiesFailed, IReadOnlyList<string> Appliances, int CopiesHeld = 0)
{
    /// <summary>Live: every planned copy of every file of the title is complete in the site.</summary>
    public bool Live => CopiesPlanned > 0 && CopiesComplete == CopiesPlanned;

    public string State => Live ? "live" : "filling";
}

/// <summary>A site's fill status: the current run and each planned title's state.</summary>
public sealed record SiteStatus(string Site, DateOnly? Day, DateTimeOffset? OpenUntil, IReadOnlyList<TitleStatus> Titles)
{
    /// <summary>Groups the site's planned files by title (pure).</summary>
    public static SiteStatus From(string site, FillRun? run, IReadOnlyList<PlannedFile> files)
    {
        var titles = files
            .GroupBy(f => f.File.Title, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new TitleStatus(
                g.Key,
                g.Count(),
                g.Count(f => f.State == FillStore.Done),
                g.Count(f => f.State == FillStore.Failed),
                g.Select(f => f.ApplianceId).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList(),
                g.Count(f => f.Held)))
            .ToList();
        return new SiteStatus(site, run?.Day, run?.OpenUntil, titles);
    }
}
