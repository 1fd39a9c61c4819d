using OpenConnect.Hosting;
using OpenConnect.Hosting.Discovery;

namespace OpenConnect.FillController.Discovery;

/// <summary>Where to find another role: a DNS SRV name (preferred when it resolves) and a static URL fallback.</summary>
public sealed class ServiceEndpointOptions
{
    /// <summary>Static URL, used when <see cref="SrvName"/> is empty or does not resolve.</summary>
    public string Url { get; set; } = "";

    /// <summary>DNS SRV name, e.g. <c>_origin._tcp.isp.example</c>. Default: none.</summary>
    public string SrvName { get; set; } = "";

    /// <summary>DNS server (<c>host:port</c>) for <see cref="SrvName"/>. Default: the system's resolvers.</summary>
    public string DnsServer { get; set; } = "";

    /// <summary>
    /// No longer used; must stay empty (a start with it set says so). The fill controller once read
    /// steering's <c>/history/plays</c> with the operator token; it now uses its fleet certificate.
    /// </summary>
    public string OperatorTokenFile { get; set; } = "";

    public void Validate(OptionsCheck check, string key)
    {
        check.RequireAbsoluteHttpUri(Url, $"{key}:Url", allowEmpty: true);
        check.Require(SrvName.Length == 0 || (SrvName.StartsWith('_') && !SrvName.Contains(' ')), $"{key}:SrvName", SrvName, "must be an SRV name such as _origin._tcp.isp.example");
        check.Require(DnsServer.Length == 0 || SrvLocator.TryParseServer(DnsServer, out _), $"{key}:DnsServer", DnsServer, "must be host:port with a numeric address, e.g. 127.0.0.1:53");
    }
}
