using System.Net;
using System.Net.Sockets;

namespace OpenConnect.Steering.Selection;

/// <summary>Checks the per-family base URLs an appliance registers (<c>public_url</c>, <c>public_url_ipv6</c>).</summary>
public static class PlayerUrls
{
    /// <summary>
    /// Why <paramref name="url"/> cannot be an appliance's IPv6 base URL, or null when it can: an
    /// absolute http(s) URL without a query whose host, when it is an address, is an IPv6 one.
    /// Empty is allowed (the appliance's one URL then serves both families).
    /// </summary>
    public static string? DescribeIPv6(string url)
    {
        if (url.Length == 0)
        {
            return null;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https") || parsed.Query.Length > 0)
        {
            return $"public_url_ipv6 '{url}' must be an absolute http:// or https:// URL without a query";
        }

        return parsed.HostNameType == UriHostNameType.IPv4 || (IPAddress.TryParse(parsed.DnsSafeHost, out var address) && address.AddressFamily == AddressFamily.InterNetwork)
            ? $"public_url_ipv6 '{url}' names an IPv4 address; give a host name or an IPv6 address in brackets"
            : null;
    }
}
