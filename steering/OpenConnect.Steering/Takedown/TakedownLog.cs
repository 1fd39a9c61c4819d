namespace OpenConnect.Steering.Takedown;

/// <summary>Takedown log events (stable ids 5150–5159).</summary>
internal static partial class TakedownLog
{
    [LoggerMessage(5150, LogLevel.Warning, "The origin reported {Count} titles taken down: takedown generation {Generation}; play endpoints answer 410 for them and appliances drop them at their next heartbeat")]
    public static partial void Replaced(ILogger logger, int count, ulong generation);

    [LoggerMessage(5152, LogLevel.Information, "Takedown list loaded: {Count} titles, generation {Generation}")]
    public static partial void Loaded(ILogger logger, int count, ulong generation);

    [LoggerMessage(5151, LogLevel.Warning, "Takedown report from {Identity} refused: {Reason}")]
    public static partial void Refused(ILogger logger, string identity, string reason);
}
