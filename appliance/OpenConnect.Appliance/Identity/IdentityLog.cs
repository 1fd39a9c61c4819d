namespace OpenConnect.Appliance.Identity;

/// <summary>Fleet identity log events (stable ids 750–759).</summary>
internal static partial class IdentityLog
{
    [LoggerMessage(EventId = 750, Level = LogLevel.Information, Message = "Fleet identity {Identity}: certificate {Serial} valid until {NotAfter:u} ({Directory})")]
    public static partial void Loaded(ILogger logger, string identity, string serial, DateTime notAfter, string directory);

    [LoggerMessage(EventId = 751, Level = LogLevel.Information, Message = "Enrolled as {Identity}: certificate {Serial} valid until {NotAfter:u}")]
    public static partial void Enrolled(ILogger logger, string identity, string serial, DateTime notAfter);

    [LoggerMessage(EventId = 752, Level = LogLevel.Information, Message = "Renewed {Identity}: certificate {Serial} valid until {NotAfter:u}")]
    public static partial void Renewed(ILogger logger, string identity, string serial, DateTime notAfter);

    [LoggerMessage(EventId = 753, Level = LogLevel.Warning, Message = "Certificate renewal failed (current one valid until {NotAfter:u}): {Error}")]
    public static partial void RenewalFailed(ILogger logger, DateTime notAfter, string error);
}
