using Microsoft.AspNetCore.Server.Kestrel.Core;
using OpenConnect.Contracts.Hosting;

namespace OpenConnect.Steering.ControlPlane;

/// <summary>
/// The control-plane listener (<see cref="SteeringOptions.ControlUrl"/>) and its bound address once
/// the server has started (port 0 becomes the port the kernel picked).
/// </summary>
public sealed class ControlEndpoint
{
    public const string ServicePath = "/openconnect.steering.v1.ControlPlane";

    /// <summary>The fill controller's roster service, also on the control port.</summary>
    public const string RosterPath = "/openconnect.fill.v1.ApplianceRoster";

    internal ListenOptions? Listen { get; set; }

    /// <summary>The bound port, or 0 before start.</summary>
    public int Port => Listen?.IPEndPoint?.Port ?? 0;

    /// <summary>The bound control-plane address, e.g. <c>https://127.0.0.1:8280</c>.</summary>
    public Uri Address => Fleet.FleetListenOptions.Https(ListenUrls.BoundAddress(Listen, "control endpoint"));
}
