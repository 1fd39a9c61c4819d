using OpenConnect.Contracts.Placement;
namespace OpenConnect.Steering.Selection;

/// <summary>
/// What selection knows about one registered appliance: its fixed identity plus a status that
/// heartbeats replace as a whole (readers see one consistent status without locking).
/// </summary>
public sealed class ApplianceView
{
    private volatile ApplianceStatus _status;

    public ApplianceView(string id, string site, string publicUrl, long capacityBytesPerSecond, int maxConnections, ApplianceStatus status)
    {
        Id = id;
        Site = site;
        PublicUrl = publicUrl.TrimEnd('/');
        CapacityBytesPerSecond = capacityBytesPerSecond;
        MaxConnections = maxConnections;
        IdHash = Rendezvous.HashId(id);
        _status = status;
    }

    public string Id { get; }

    public string Site { get; }

    /// <summary>Base URL players use, without a trailing slash.</summary>
    public string PublicUrl { get; }

    public long CapacityBytesPerSecond { get; }

    public int MaxConnections { get; }

    /// <summary>Hash of <see cref="Id"/>, the appliance's half of the rendezvous score.</summary>
    public ulong IdHash { get; }

    public ApplianceStatus Status
    {
        get => _status;
        set => _status = value;
    }
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
}
