using Grpc.Core;
using OpenConnect.Contracts.Fill.V1;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Steering.Fleet;

namespace OpenConnect.Steering.ControlPlane;

/// <summary>
/// The appliances steering knows, for the fill controller (gRPC <c>ApplianceRoster.List</c> on the
/// control port): id, site, public URL, SSD bytes and last heartbeat. The fill controller places
/// files on exactly the appliances steering ranks, so it takes the roster from here. Only the
/// <c>openconnect://fill-controller</c> identity or an operator certificate may read it.
/// </summary>
public sealed class RosterService(ApplianceRegistry registry) : ApplianceRoster.ApplianceRosterBase
{
    public override Task<RosterReply> List(RosterRequest request, ServerCallContext context)
    {
        if (FleetCaller.Of(context.GetHttpContext()) is not { Role: FleetRole.FillController or FleetRole.Operator })
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, "the roster is for the fill controller's or an operator's certificate"));
        }

        var reply = new RosterReply();
        foreach (var (view, ssdBytes, parentUrl) in registry.Roster)
        {
            reply.Appliances.Add(new RosterAppliance
            {
                ApplianceId = view.Id,
                Site = view.Site,
                PublicUrl = view.PublicUrl,
                SsdBytes = ssdBytes,
                ParentUrl = parentUrl,
                LastHeartbeatUnixMs = view.Status.LastHeartbeat.ToUnixTimeMilliseconds(),
            });
        }

        return Task.FromResult(reply);
    }
}
