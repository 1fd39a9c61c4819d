namespace OpenConnect.FillController.Fill;

internal static partial class FillLog
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Fill opened for site {Site}, day {Day}: {Appliances} appliances, {Files} files placed, open until {OpenUntil:o}")]
    public static partial void SiteOpened(ILogger logger, string site, DateOnly day, int appliances, int files, DateTimeOffset openUntil);

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "Could not open the fill of site {Site}; retrying at the next check")]
    public static partial void SiteOpenFailed(ILogger logger, string site, Exception exception);

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "Could not read the appliance roster from steering; checking configured sites only")]
    public static partial void RosterFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 303, Level = LogLevel.Information, Message = "Appliance {ApplianceId} reported manifest {Version}: {Done} files done, {Failed} failed")]
    public static partial void ProgressReported(ILogger logger, string applianceId, ulong version, int done, int failed);

    [LoggerMessage(EventId = 304, Level = LogLevel.Error, Message = "Fill window check failed; trying again at the next check")]
    public static partial void CheckFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 305, Level = LogLevel.Debug, Message = "Appliance {ApplianceId} of site {Site} reported {Entries} (title, rendition) request counts, {Requests} requests, {Dropped} not counted")]
    public static partial void DemandReported(ILogger logger, string applianceId, string site, int entries, long requests, long dropped);

    [LoggerMessage(EventId = 306, Level = LogLevel.Information, Message = "Site {Site}: {Copies} held copies of {Title}/{Rendition} released ({Why}); first source {Source}")]
    public static partial void CopiesReleased(ILogger logger, string site, int copies, string title, string rendition, string why, string source);

    [LoggerMessage(EventId = 307, Level = LogLevel.Warning, Message = "Site {Site}: held copies of {Title}/{Rendition} could not be released now; the hold bound releases them")]
    public static partial void ReleaseFailed(ILogger logger, string site, string title, string rendition, Exception exception);
}
