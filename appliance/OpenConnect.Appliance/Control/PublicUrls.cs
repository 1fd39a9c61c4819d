using System.Net;
using System.Net.Sockets;

namespace OpenConnect.Appliance.Control;

/// <summary>
/// The base URLs an appliance registers with steering: one for IPv4 players and, when it has one,
/// one for IPv6 players (<c>Appliance:PublicUrl</c>, <c>Appliance:PublicUrlIPv6</c>, else derived
/// from the addresses the data listeners are bound to).
/// </summary>
public static class PublicUrls
{
    /// <summary>
    /// Chooses the URLs to register. <paramref name="listening"/> are the server's bound addresses in
    /// binding order: the data listeners, then the control endpoint, which is left out of the
    /// choice. Returns the IPv4 (or only) URL and the IPv6 URL, empty when there is none.
    /// </summary>
    public static (string Url, string UrlIPv6) Choose(string publicUrl, string publicUrlIPv6, IEnumerable<string>? listening)
    {
        var all = listening?.Select(a => a.TrimEnd('/')).ToArray() ?? [];
        var bound = all.Length > 1 ? all[..^1] : all;
        var ipv6 = publicUrlIPv6.TrimEnd('/');
        if (ipv6.Length == 0 && publicUrl.Length == 0)
        {
            ipv6 = bound.FirstOrDefault(a => HostFamily(a) == AddressFamily.InterNetworkV6 && !IsWildcard(a)) ?? "";
        }

        var url = publicUrl.TrimEnd('/');
        if (url.Length == 0)
        {
            url = bound.FirstOrDefault(a => HostFamily(a) != AddressFamily.InterNetworkV6) ?? (ipv6.Length > 0 ? ipv6 : bound.FirstOrDefault() ?? "");
        }

        return (url, ipv6 == url ? "" : ipv6);
    }

    /// <summary>True when <paramref name="url"/> is an absolute URL whose host is an IPv4 address.</summary>
    public static bool NamesIPv4Address(string url) => HostFamily(url) == AddressFamily.InterNetwork;

    /// <summary>The family of an address host (IPv4-mapped counts as IPv4); <see cref="AddressFamily.Unspecified"/> for a host name.</summary>
    private static AddressFamily HostFamily(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || !IPAddress.TryParse(uri.DnsSafeHost, out var address))
        {
            return AddressFamily.Unspecified;
        }

        return address.IsIPv4MappedToIPv6 ? AddressFamily.InterNetwork : address.AddressFamily;
    }

    private static bool IsWildcard(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && IPAddress.TryParse(uri.DnsSafeHost, out var address) && address.Equals(IPAddress.IPv6Any);
}
