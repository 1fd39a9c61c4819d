namespace OpenConnect.Launcher.Layout;

/// <summary>
/// A site: its appliances in parent order (each pulls from the ones listed before it, then the
/// origin), the client prefixes steering maps to it, and on the bed its client host.
/// </summary>
public sealed record FleetSite(string Name, IReadOnlyList<string> Appliances, IReadOnlyList<string> Prefixes, string? Client = null);
