using System.Net;
using System.Net.Sockets;
using OpenConnect.Contracts.Placement;
namespace OpenConnect.Steering.Selection;

/// <summary>
/// What selection knows about one registered appliance: its fixed identity plus a status that
/// heartbeats replace as a whole (readers see one consistent status without locking).
/// </summary>
public sealed class ApplianceView
{
    private volatile ApplianceStatus _status;
    private Action<ApplianceView>? _statusChanged;

    public ApplianceView(string id, string site, string publicUrl, long capacityBytesPerSecond, int maxConnections, ApplianceStatus status, string? publicUrlIPv6 = null)
    {
        Id = id;
        Site = site;
        PublicUrl = publicUrl.TrimEnd('/');
        PublicUrlIPv6 = string.IsNullOrEmpty(publicUrlIPv6) ? PublicUrl : publicUrlIPv6.TrimEnd('/');
        CapacityBytesPerSecond = capacityBytesPerSecond;
        MaxConnections = maxConnections;
        IdHash = Rendezvous.HashId(id);
        _status = status;
    }

    public string Id { get; }

    public string Site { get; }

    /// <summary>Base URL IPv4 players use (and every player when the appliance has no IPv6 URL), without a trailing slash.</summary>
    public string PublicUrl { get; }

    /// <summary>Base URL IPv6 players use, without a trailing slash; <see cref="PublicUrl"/> when the appliance registered none.</summary>
    public string PublicUrlIPv6 { get; }

    /// <summary>
    /// The base URL for a player whose request came from <paramref name="client"/>: the IPv6 URL for
    /// an IPv6 client, the IPv4 one otherwise (IPv4-mapped IPv6 addresses are IPv4 clients; an unknown
    /// client gets the IPv4 URL). An appliance with one URL hands it to both families.
    /// </summary>
    public string UrlFor(IPAddress? client) => IsIPv6Client(client) ? PublicUrlIPv6 : PublicUrl;

    /// <summary>True for an IPv6 client that is not an IPv4-mapped address.</summary>
    public static bool IsIPv6Client(IPAddress? client) =>
        client is { AddressFamily: AddressFamily.InterNetworkV6, IsIPv4MappedToIPv6: false };

    public long CapacityBytesPerSecond { get; }

    public int MaxConnections { get; }

    /// <summary>Hash of <see cref="Id"/>, the appliance's half of the rendezvous score.</summary>
    public ulong IdHash { get; }

    /// <summary>The status as of the last heartbeat; setting it also refreshes the registry's site index (<see cref="SiteMember"/>).</summary>
    public ApplianceStatus Status
    {
        get => _status;
        set
        {
            _status = value;
            _statusChanged?.Invoke(this);
        }
    }

    /// <summary>Called after every status change (the registry that indexes this view sets it once).</summary>
    internal void OnStatusChanged(Action<ApplianceView> changed) => _statusChanged = changed;
}

/// <summary>An appliance's state as of its last heartbeat.</summary>
/// <param name="LastHeartbeat">When steering last heard from it.</param>
/// <param name="BytesPerSecondOut">Reported output rate.</param>
/// <param name="Connections">Reported open connections.</param>
/// <param name="CacheHealthy">False when its cache directory fails.</param>
/// <param name="Draining">True when it wants no new plays.</param>
/// <param name="Titles">The titles it holds (whole or some renditions).</param>
public sealed record ApplianceStatus(
    DateTimeOffset LastHeartbeat,
    long BytesPerSecondOut,
    int Connections,
    bool CacheHealthy,
    bool Draining,
    IReadOnlySet<string> Titles)
{
    public static readonly IReadOnlySet<string> NoTitles = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>
    /// <see cref="Titles"/> as the registry's title ids, for the ranking's holding test; null when the
    /// status was not built by an <see cref="ControlPlane.ApplianceRegistry"/> (ranking then tests <see cref="Titles"/>).
    /// </summary>
    public TitleIdSet? TitleIds { get; init; }
}
