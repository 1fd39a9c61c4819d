namespace OpenConnect.Appliance.Control;

internal static partial class ControlLog
{
    [LoggerMessage(EventId = 700, Level = LogLevel.Information, Message = "Control plane at {Url} (from {Source})")]
    public static partial void ControlPlaneFound(ILogger logger, string url, string source);

    [LoggerMessage(EventId = 701, Level = LogLevel.Information, Message = "Registered {ApplianceId} ({PublicUrl}) with the control plane at {Url}")]
    public static partial void Registered(ILogger logger, string applianceId, string publicUrl, string url);

    [LoggerMessage(EventId = 702, Level = LogLevel.Warning, Message = "Control plane at {Url} unreachable: {Detail}")]
    public static partial void ControlPlaneUnreachable(ILogger logger, string url, string detail);

    [LoggerMessage(EventId = 703, Level = LogLevel.Information, Message = "Control plane at {Url} reachable again")]
    public static partial void ControlPlaneBack(ILogger logger, string url);

    [LoggerMessage(EventId = 712, Level = LogLevel.Information, Message = "Control plane at {Url} no longer named: its session ends")]
    public static partial void ControlPlaneDropped(ILogger logger, string url);

    [LoggerMessage(EventId = 704, Level = LogLevel.Warning, Message = "Control endpoint: TLS handshake from {Remote} refused: {Problem}")]
    public static partial void HandshakeRefused(ILogger logger, string remote, string problem);

    [LoggerMessage(EventId = 705, Level = LogLevel.Warning, Message = "Control endpoint: TLS handshake from {Remote} refused: the appliance has no fleet certificate yet (enrollment pending)")]
    public static partial void NoCertificateYet(ILogger logger, string remote);

    [LoggerMessage(EventId = 706, Level = LogLevel.Warning, Message = "Control endpoint: {Method} {Path} from {Remote} refused: {Problem}")]
    public static partial void Refused(ILogger logger, string method, string path, string remote, string problem);

    [LoggerMessage(EventId = 707, Level = LogLevel.Information, Message = "Draining set to {Draining} by {Operator}")]
    public static partial void DrainSet(ILogger logger, bool draining, string @operator);

    [LoggerMessage(EventId = 708, Level = LogLevel.Information, Message = "No control listener: {Reason}")]
    public static partial void NoControlListener(ILogger logger, string reason);

    [LoggerMessage(EventId = 710, Level = LogLevel.Warning, Message = "Takedown list generation {Generation} applied: {Count} titles refused (410); purged now: {Purged}")]
    public static partial void TakedownsApplied(ILogger logger, ulong generation, int count, string purged);

    [LoggerMessage(EventId = 711, Level = LogLevel.Warning, Message = "Purge by {Operator}: {Scope}; {Objects} objects dropped ({Pins} pinned), {NotFound} remembered 404s forgotten")]
    public static partial void Purged(ILogger logger, string @operator, string scope, int objects, int pins, int notFound);

    [LoggerMessage(EventId = 709, Level = LogLevel.Information, Message = "Prefetch of {Objects} objects for {Operator}")]
    public static partial void Prefetch(ILogger logger, int objects, string @operator);
}
