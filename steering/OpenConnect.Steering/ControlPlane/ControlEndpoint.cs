using Microsoft.AspNetCore.Server.Kestrel.Core;
using OpenConnect.Hosting;

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

    /// <summary>The bound control-plane address, e.g. <c>http://127.0.0.1:8280</c>.</summary>
    public Uri Address => ListenUrls.BoundAddress(Listen, "control endpoint");

    /// <summary>Keeps the two listeners apart: only the control plane on the control port, never on the player ports.</summary>
    public sealed class Separation(RequestDelegate next, ControlEndpoint control)
    {
        public Task InvokeAsync(HttpContext context)
        {
            var onControlPort = context.Connection.LocalPort == control.Port;
            var isControlPlane = context.Request.Path.StartsWithSegments(ServicePath, StringComparison.Ordinal)
                || context.Request.Path.StartsWithSegments(RosterPath, StringComparison.Ordinal);
            if (onControlPort != isControlPlane)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            return next(context);
        }
    }
}
