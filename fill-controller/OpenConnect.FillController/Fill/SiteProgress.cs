namespace OpenConnect.FillController.Fill;

/// <summary>The answer of <c>GET /fill/sites</c>: every known site's progress, and why steering's roster could not be read (null when it was).</summary>
public sealed record FillSites(DateTimeOffset At, string? RosterError, IReadOnlyList<SiteProgress> Sites);

/// <summary>
/// One site's fill progress against its night window, for operators (<c>GET /fill/sites</c>):
/// the window (the one open now, or the next), how far through it the clock is, whether appliances
/// may fetch now, the latest run and its copies complete of planned. Pure.
/// </summary>
/// <param name="Site">The site's name.</param>
/// <param name="WindowStart">Start of the window containing now, or of the next one.</param>
/// <param name="WindowEnd">Its end.</param>
/// <param name="WindowElapsed">Fraction of that window already past (0 before it opens).</param>
/// <param name="Open">Appliances of the site may fetch now (a window or an operator's "fill now").</param>
/// <param name="OpenUntil">Until when they may, or when the next window ends.</param>
/// <param name="Day">The day the latest run fills for; null before the first.</param>
/// <param name="TitlesLive">Planned titles whose every copy is complete.</param>
/// <param name="TitlesFilling">Planned titles with copies still to come.</param>
/// <param name="CopiesPlanned">Planned (appliance, file) copies of the latest run.</param>
/// <param name="CopiesComplete">Of those, complete.</param>
/// <param name="CopiesFailed">Of those, failed.</param>
/// <param name="CopiesHeld">Of those, held back until a first copy in the site completes.</param>
/// <param name="Progress">Complete over planned; null with nothing planned.</param>
public sealed record SiteProgress(
    string Site,
    DateTimeOffset WindowStart,
    DateTimeOffset WindowEnd,
    double WindowElapsed,
    bool Open,
    DateTimeOffset OpenUntil,
    string? Day,
    int TitlesLive,
    int TitlesFilling,
    int CopiesPlanned,
    int CopiesComplete,
    int CopiesFailed,
    int CopiesHeld,
    double? Progress)
{
    public static SiteProgress Of(SiteStatus status, WindowOccurrence window, (bool Open, DateTimeOffset Until) state, DateTimeOffset now)
    {
        var elapsed = window.Contains(now) ? (now - window.Start) / window.Length : 0;
        var planned = status.Titles.Sum(t => t.CopiesPlanned);
        var complete = status.Titles.Sum(t => t.CopiesComplete);
        return new SiteProgress(
            status.Site,
            window.Start,
            window.End,
            Math.Clamp(elapsed, 0, 1),
            state.Open,
            state.Until,
            status.Day?.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            status.Titles.Count(t => t.Live),
            status.Titles.Count(t => !t.Live),
            planned,
            complete,
            status.Titles.Sum(t => t.CopiesFailed),
            status.Titles.Sum(t => t.CopiesHeld),
            planned > 0 ? (double)complete / planned : null);
    }
}
