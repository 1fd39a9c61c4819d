namespace OpenConnect.Appliance.Upstream;

internal static partial class UpstreamLog
{
    [LoggerMessage(2001, LogLevel.Warning, "Parent {Parent} failed for {Path}: {Reason}")]
    public static partial void ParentFailed(ILogger logger, string parent, string path, string reason);

    [LoggerMessage(2002, LogLevel.Error, "Upstream fetch for {Path} failed unexpectedly")]
    public static partial void FetchCrashed(ILogger logger, string path, Exception exception);

    [LoggerMessage(2003, LogLevel.Warning, "Integrity manifest of title {TitleId} is unusable: {Reason}")]
    public static partial void BadManifest(ILogger logger, string titleId, string reason);

    [LoggerMessage(2004, LogLevel.Warning, "{Path} from {Parent} refused by the integrity check ({Reason}: {Detail}); not admitted")]
    public static partial void IntegrityFailed(ILogger logger, string path, string parent, string reason, string detail);

    [LoggerMessage(2005, LogLevel.Warning, "Appliance:Upstream:AllowUnsignedContent=true (test-only): titles without an integrity manifest and files it does not list are served unverified ({KeyCount} integrity keys configured)")]
    public static partial void UnsignedContentAllowed(ILogger logger, int keyCount);

    [LoggerMessage(2006, LogLevel.Warning, "Parent {Parent} refused: {Reason}; trying the next parent")]
    public static partial void ParentCertificateRefused(ILogger logger, string parent, string reason);
}
