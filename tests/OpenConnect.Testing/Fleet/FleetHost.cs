namespace OpenConnect.Testing.Fleet;

/// <summary>One host of the bed: its name (<c>a1</c>), namespace and its two addresses.</summary>
public sealed record FleetHost(string Name, string Namespace, string Ipv4, string Ipv6)
{
    /// <summary>An http URL on this host's IPv4 address.</summary>
    public string Url(int port) => $"http://{Ipv4}:{port}";

    /// <summary>An https URL on this host's IPv4 address (steering's fleet listeners).</summary>
    public string SecureUrl(int port) => $"https://{Ipv4}:{port}";

    /// <summary>An http URL on this host's IPv6 address.</summary>
    public string UrlIPv6(int port) => $"http://[{Ipv6}]:{port}";

    /// <summary>Kestrel's <c>--urls</c> value for both of this host's addresses (IPv4 first: it stays the role's main URL).</summary>
    public string DualStackUrls(int port) => $"{Url(port)};{UrlIPv6(port)}";
}
