using OpenConnect.Hosting;

namespace OpenConnect.Steering.ControlPlane;

/// <summary>
/// The control-plane listener (<see cref="SteeringOptions.ControlUrl"/>) and its bound address once
/// the server has started (port 0 becomes the port the kernel picked). The kit's listener wiring keeps
/// <see cref="ServicePath"/> and <see cref="RosterPath"/> on this listener and everything else off it.
/// </summary>
public sealed class ControlEndpoint
{
    public const string ServicePath = "/openconnect.steering.v1.ControlPlane";

    /// <summary>The fill controller's roster service, also on the control port.</summary>
    public const string RosterPath = "/openconnect.fill.v1.ApplianceRoster";

    private readonly RoleListeners _listeners;

    public ControlEndpoint(RoleListeners listeners) => _listeners = listeners;

    /// <summary>The bound port, or 0 before start.</summary>
    public int Port => _listeners.ControlPort;

    /// <summary>The bound control-plane address, e.g. <c>https://127.0.0.1:8280</c>.</summary>
    public Uri Address => Fleet.FleetListenOptions.Https(_listeners.ControlAddress);
}
