namespace OpenConnect.Origin.Protection;

internal static partial class ProtectionLog
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Title key created for {TitleId} (kid {KeyId}, KEK {KekId})")]
    public static partial void TitleKeyCreated(ILogger logger, string titleId, string keyId, string kekId);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "License for {TitleId} to {Client}: granted, {KeyCount} of {RequestedCount} requested key ids")]
    public static partial void LicenseGranted(ILogger logger, string titleId, string client, int keyCount, int requestedCount);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "License for {TitleId} to {Client}: {Outcome} ({Status}): {Reason}; {RequestedCount} key ids requested")]
    public static partial void LicenseRefused(ILogger logger, string titleId, string client, string outcome, int status, string reason, int requestedCount);

    // Debug: a client hammering the endpoint must not turn into as many log lines; the counter has it.
    [LoggerMessage(EventId = 5004, Level = LogLevel.Debug, Message = "License for {TitleId} to {Client}: rate_limited (429)")]
    public static partial void LicenseRateLimited(ILogger logger, string titleId, string client);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Error, Message = "License for {TitleId} to {Client}: the title key is unavailable")]
    public static partial void TitleKeyUnavailable(ILogger logger, Exception exception, string titleId, string client);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Information, Message = "KEK rotation: {Rewrapped} title keys rewrapped under KEK {KekId}; {Left} left under KEKs not configured ({LeftKekIds}); {Damaged} rows that do not unwrap left as they were")]
    public static partial void KeysRewrapped(ILogger logger, int rewrapped, string kekId, int left, string leftKekIds, int damaged);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Warning, Message = "{Count} title keys are wrapped under KEKs {KekIds}, not the current KEK {KekId}: they cannot be licensed until their KEK files are listed in Origin:Protection:PreviousKeyEncryptionKeyFiles")]
    public static partial void KeysUnderOtherKeks(ILogger logger, long count, string kekIds, string kekId);
}
