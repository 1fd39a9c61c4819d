using Grpc.Core;
using OpenConnect.Contracts.Fill.V1;

namespace OpenConnect.Steering.ControlPlane;

/// <summary>
/// The appliances steering knows, for the fill controller (gRPC <c>ApplianceRoster.List</c> on the
/// control port): id, site, public URL, SSD bytes and last heartbeat. The fill controller places
/// files on exactly the appliances steering ranks, so it takes the roster from here.
/// </summary>
public sealed class RosterService(ApplianceRegistry registry) : ApplianceRoster.ApplianceRosterBase
{
    public override Task<RosterReply> List(RosterRequest request, ServerCallContext context)
    {
        var reply = new RosterReply();
        foreach (var (view, ssdBytes) in registry.Roster)
        {
            reply.Appliances.Add(new RosterAppliance
            {
                ApplianceId = view.Id,
                Site = view.Site,
                PublicUrl = view.PublicUrl,
                SsdBytes = ssdBytes,
                LastHeartbeatUnixMs = view.Status.LastHeartbeat.ToUnixTimeMilliseconds(),
            });
        }

        return Task.FromResult(reply);
    }
}
