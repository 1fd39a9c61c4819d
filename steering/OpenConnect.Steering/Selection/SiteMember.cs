namespace OpenConnect.Steering.Selection;

/// <summary>
/// One appliance of a site as ranking reads it: what a decision needs from its view and its current
/// status, side by side in the site's array, so ranking a site walks one array instead of following
/// a view, a status and a title set per appliance. The registry replaces a site's array when one of
/// its members' status changes (<see cref="ControlPlane.ApplianceRegistry.Members"/>).
/// </summary>
public readonly struct SiteMember
{
    public SiteMember(ApplianceView view, ApplianceStatus status)
    {
        View = view;
        IdHash = view.IdHash;
        CapacityBytesPerSecond = view.CapacityBytesPerSecond;
        MaxConnections = view.MaxConnections;
        LastHeartbeat = status.LastHeartbeat;
        BytesPerSecondOut = status.BytesPerSecondOut;
        Connections = status.Connections;
        Available = status.CacheHealthy && !status.Draining;
        TitleIds = status.TitleIds;
        Titles = status.Titles;
    }

    public ApplianceView View { get; }

    public ulong IdHash { get; }

    public long CapacityBytesPerSecond { get; }

    public int MaxConnections { get; }

    public DateTimeOffset LastHeartbeat { get; }

    public long BytesPerSecondOut { get; }

    public int Connections { get; }

    /// <summary>Cache healthy and not draining.</summary>
    public bool Available { get; }

    /// <summary>The status's <see cref="ApplianceStatus.TitleIds"/>: when present, the holding test uses it.</summary>
    public TitleIdSet? TitleIds { get; }

    /// <summary>The status's <see cref="ApplianceStatus.Titles"/>, for statuses built without ids.</summary>
    public IReadOnlySet<string> Titles { get; }

    /// <summary>True when the member holds the title (<paramref name="titleId"/> when it has ids, else <paramref name="title"/>).</summary>
    public bool Holds(string title, int titleId) => TitleIds is { } ids ? ids.Contains(titleId) : Titles.Contains(title);

    /// <summary>The members of <paramref name="views"/> at their current statuses.</summary>
    public static SiteMember[] Of(IEnumerable<ApplianceView> views) => [.. views.Select(v => new SiteMember(v, v.Status))];
}
