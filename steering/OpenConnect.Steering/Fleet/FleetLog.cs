namespace OpenConnect.Steering.Fleet;

/// <summary>Fleet PKI log events (stable ids 5100–5149).</summary>
internal static partial class FleetLog
{
    [LoggerMessage(5100, LogLevel.Information, "Fleet CA {Subject} loaded from {Directory}; operator token in {TokenFile}")]
    public static partial void AuthorityLoaded(ILogger logger, string subject, string directory, string tokenFile);

    [LoggerMessage(5101, LogLevel.Information, "Enrolled {Identity}: certificate {Serial} valid until {NotAfter:u}")]
    public static partial void Enrolled(ILogger logger, string identity, string serial, DateTime notAfter);

    [LoggerMessage(5102, LogLevel.Warning, "Enrollment from {Peer} refused: {Reason}")]
    public static partial void EnrollmentRefused(ILogger logger, string peer, string reason);

    [LoggerMessage(5103, LogLevel.Information, "Renewed {Identity}: certificate {Serial} valid until {NotAfter:u}")]
    public static partial void Renewed(ILogger logger, string identity, string serial, DateTime notAfter);

    [LoggerMessage(5104, LogLevel.Information, "Operator added appliance {ApplianceId} in site {Site}; enrollment code valid until {Expires:u}")]
    public static partial void ApplianceAdded(ILogger logger, string applianceId, string site, DateTimeOffset expires);

    [LoggerMessage(5105, LogLevel.Warning, "Operator removed appliance {ApplianceId}: its certificates are revoked")]
    public static partial void ApplianceRemoved(ILogger logger, string applianceId);

    [LoggerMessage(5106, LogLevel.Information, "Operator issued a certificate for {Identity}: {Serial} valid until {NotAfter:u}")]
    public static partial void ServiceCertificateIssued(ILogger logger, string identity, string serial, DateTime notAfter);

    [LoggerMessage(5107, LogLevel.Warning, "Control call {Path} from {Identity} refused: {Reason}")]
    public static partial void ControlCallRefused(ILogger logger, string path, string identity, string reason);
}
