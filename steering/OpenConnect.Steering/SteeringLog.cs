namespace OpenConnect.Steering;

/// <summary>Steering's log events (stable ids 5000–5099).</summary>
internal static partial class SteeringLog
{
    [LoggerMessage(5000, LogLevel.Information, "Appliance {ApplianceId} registered: site {Site}, {PublicUrl}, instance {InstanceId}")]
    public static partial void ApplianceRegistered(ILogger logger, string applianceId, string site, string publicUrl, string instanceId);

    [LoggerMessage(5001, LogLevel.Information, "Appliance {ApplianceId} sent an inventory delta from version {BaseVersion} steering does not hold; asked for the full inventory")]
    public static partial void InventoryResync(ILogger logger, string applianceId, ulong baseVersion);

    [LoggerMessage(5010, LogLevel.Information, "Prefix tables loaded from {Directory}: {Sites} sites, {Prefixes} prefixes")]
    public static partial void PrefixesLoaded(ILogger logger, string directory, int sites, int prefixes);

    [LoggerMessage(5011, LogLevel.Error, "Prefix tables in {Directory} not reloaded, keeping the previous table: {Error}")]
    public static partial void PrefixesRejected(ILogger logger, string directory, string error);

    [LoggerMessage(5020, LogLevel.Information, "Signing key {KeyId} loaded from {Path}; public key written to {PublicPath}")]
    public static partial void SigningKeyLoaded(ILogger logger, string keyId, string path, string publicPath);

    [LoggerMessage(5030, LogLevel.Warning, "Origin request {Url} failed: {Error}")]
    public static partial void OriginFailed(ILogger logger, string url, string error);

    [LoggerMessage(5040, LogLevel.Debug, "Steering request ({Protocol}) for {Title} from site {Site}: client on {Pathway} at {Throughput} bit/s")]
    public static partial void SteeringReport(ILogger logger, string protocol, string title, string site, string pathway, string throughput);
}
