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
}
