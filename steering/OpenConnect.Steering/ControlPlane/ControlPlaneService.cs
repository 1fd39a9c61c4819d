using Grpc.Core;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Hosting;
using OpenConnect.Contracts.Steering.V1;

namespace OpenConnect.Steering.ControlPlane;

/// <summary>The gRPC control plane appliances register and heartbeat to.</summary>
public sealed class ControlPlaneService(ApplianceRegistry registry, TimeProvider time, IOptions<SteeringOptions> options, ILogger<ControlPlaneService> logger)
    : OpenConnect.Contracts.Steering.V1.ControlPlane.ControlPlaneBase
{
    /// <summary>The pathway id reserved for the origin; no appliance may take it.</summary>
    public const string OriginPathwayId = "origin";

    public override Task<RegisterReply> Register(RegisterRequest request, ServerCallContext context)
    {
        var identity = request.Identity ?? throw Invalid("identity is required");
        var problem = Describe(identity, request.InstanceId);
        if (problem is not null)
        {
            throw Invalid(problem);
        }

        registry.Register(identity, request.InstanceId, time.GetUtcNow());
        SteeringLog.ApplianceRegistered(logger, identity.ApplianceId, identity.Site, identity.PublicUrl, request.InstanceId);
        return Task.FromResult(new RegisterReply { HeartbeatIntervalMs = (int)options.Value.HeartbeatInterval.TotalMilliseconds });
    }

    public override Task<HeartbeatReply> Heartbeat(HeartbeatRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.ApplianceId))
        {
            throw Invalid("appliance_id is required");
        }

        var reply = registry.Heartbeat(request, time.GetUtcNow());
        if (reply.WantFullInventory)
        {
            SteeringLog.InventoryResync(logger, request.ApplianceId, request.Inventory?.BaseVersion ?? 0);
        }

        return Task.FromResult(reply);
    }

    /// <summary>Why an identity cannot be registered, or null when it can.</summary>
    public static string? Describe(ApplianceIdentity identity, string instanceId)
    {
        if (!Identifiers.IsValid(identity.ApplianceId) || identity.ApplianceId == OriginPathwayId)
        {
            return $"appliance_id '{identity.ApplianceId}' must be {Identifiers.Rule} and not '{OriginPathwayId}'";
        }

        if (!Identifiers.IsValid(identity.Site))
        {
            return $"site '{identity.Site}' must be {Identifiers.Rule}";
        }

        if (!Uri.TryCreate(identity.PublicUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || url.Query.Length > 0)
        {
            return $"public_url '{identity.PublicUrl}' must be an absolute http:// or https:// URL without a query";
        }

        if (Selection.PlayerUrls.DescribeIPv6(identity.PublicUrlIpv6) is { } ipv6Problem)
        {
            return ipv6Problem;
        }

        if (identity.CapacityBytesPerSecond <= 0)
        {
            return "capacity_bytes_per_second must be positive";
        }

        if (identity.MaxConnections < 0)
        {
            return "max_connections must not be negative";
        }

        return string.IsNullOrEmpty(instanceId) ? "instance_id is required" : null;
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
