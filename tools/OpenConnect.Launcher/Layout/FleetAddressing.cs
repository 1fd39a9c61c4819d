namespace OpenConnect.Launcher.Layout;

/// <summary>Where a fleet's roles listen.</summary>
public enum FleetAddressing
{
    /// <summary>Every role on 127.0.0.1, each from its own data port (run.sh's port scheme).</summary>
    Loopback,

    /// <summary>Each role on its bed host's addresses, inside that host's network namespace, with fixed ports.</summary>
    Namespaces,
}
