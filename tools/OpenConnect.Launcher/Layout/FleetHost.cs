namespace OpenConnect.Launcher.Layout;

/// <summary>
/// One host of a fleet: its name, the network namespace it lives in (null on loopback: the
/// launcher's own), its IPv4 address and, on the bed, its IPv6 address.
/// </summary>
public sealed record FleetHost(string Name, string? Namespace, string Ipv4, string? Ipv6 = null)
{
    /// <summary>Every role of a loopback fleet runs on this host.</summary>
    public static FleetHost Loopback { get; } = new("loopback", null, "127.0.0.1");

    /// <summary>An http URL on this host's IPv4 address.</summary>
    public string Url(int port) => $"http://{Ipv4}:{port}";

    /// <summary>An https URL on this host's IPv4 address (the fleet's TLS listeners).</summary>
    public string SecureUrl(int port) => $"https://{Ipv4}:{port}";

    /// <summary>An http URL on this host's IPv6 address.</summary>
    public string UrlIPv6(int port) => $"http://[{Ipv6 ?? throw new InvalidOperationException($"host {Name} has no IPv6 address")}]:{port}";

    /// <summary>Kestrel's <c>--urls</c> value: both addresses when the host has two (IPv4 first: it stays the role's main URL).</summary>
    public string ListenUrls(int port) => Ipv6 is null ? Url(port) : $"{Url(port)};{UrlIPv6(port)}";

    /// <summary><paramref name="command"/> as run on this host: inside its namespace with <c>ip netns exec</c>, or as is.</summary>
    public IReadOnlyList<string> Command(IEnumerable<string> command) =>
        Namespace is null ? [.. command] : ["ip", "netns", "exec", Namespace, .. command];
}
