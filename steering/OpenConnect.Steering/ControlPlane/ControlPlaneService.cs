using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Contracts.Hosting;
using OpenConnect.Contracts.Steering.V1;
using OpenConnect.Steering.Fleet;
using OpenConnect.Steering.Signing;
using OpenConnect.Steering.Takedown;

namespace OpenConnect.Steering.ControlPlane;

/// <summary>
/// The gRPC control plane appliances register and heartbeat to, on the mutual-TLS control listener.
/// The caller's fleet certificate is its identity: it may register and heartbeat only as the
/// appliance id and site its certificate names, and while an instance of that id heartbeats under
/// one certificate, another certificate's instance is refused (no two boxes take turns holding a site).
/// Each reply carries the caller's playback MAC key (<see cref="TokenIssuer.KeyFor"/>): only after the
/// certificate check, and only the key of the appliance the certificate names. Replies also carry the
/// takedown list (<see cref="TakedownRegistry"/>) when the appliance's applied generation differs, and
/// only the origin's certificate may report takedowns.
/// </summary>
public sealed class ControlPlaneService(ApplianceRegistry registry, ApplianceReports reports, TokenIssuer tokens, TakedownRegistry takedowns, TimeProvider time, IOptions<SteeringOptions> options, ILogger<ControlPlaneService> logger)
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

        var caller = RequireCaller(context, identity.ApplianceId, identity.Site);
        var serial = context.GetHttpContext().Connection.ClientCertificate?.SerialNumber ?? "";
        var refused = registry.TryRegister(identity, request.InstanceId, serial, time.GetUtcNow(), options.Value.HeartbeatExpiry);
        if (refused is not null)
        {
            FleetLog.ControlCallRefused(logger, "Register", caller.ToString(), refused);
            throw new RpcException(new Status(StatusCode.AlreadyExists, refused));
        }

        reports.Registered(identity.ApplianceId, request.InstanceId, identity.Version, time.GetUtcNow());
        SteeringLog.ApplianceRegistered(logger, identity.ApplianceId, identity.Site, identity.PublicUrl, request.InstanceId);
        return Task.FromResult(new RegisterReply
        {
            HeartbeatIntervalMs = (int)options.Value.HeartbeatInterval.TotalMilliseconds,
            PlaybackKey = ByteString.CopyFrom(tokens.KeyFor(caller.Name).Bytes),
            Takedowns = takedowns.List,
        });
    }

    public override Task<HeartbeatReply> Heartbeat(HeartbeatRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.ApplianceId))
        {
            throw Invalid("appliance_id is required");
        }

        var caller = RequireCaller(context, request.ApplianceId, site: null);
        if (registry.Find(request.ApplianceId) is { } known && known.Site != caller.Site)
        {
            throw Denied($"certificate names {caller}, not an appliance of site '{known.Site}'");
        }

        var now = time.GetUtcNow();
        var reply = registry.Heartbeat(request, now);
        if (reply.Known)
        {
            reports.Heartbeat(request.ApplianceId, request.InstanceId, request.Load?.Requests ?? 0, request.Load?.HitRequests ?? 0, now);
            reply.PlaybackKey = ByteString.CopyFrom(tokens.KeyFor(caller.Name).Bytes);
            if (request.TakedownGeneration != takedowns.Generation)
            {
                reply.Takedowns = takedowns.List;
            }
        }

        if (reply.WantFullInventory)
        {
            SteeringLog.InventoryResync(logger, request.ApplianceId, request.Inventory?.BaseVersion ?? 0);
        }

        return Task.FromResult(reply);
    }

    public override Task<TakedownAck> ReportTakedowns(TakedownReport request, ServerCallContext context)
    {
        var caller = FleetCaller.Of(context.GetHttpContext());
        if (caller is not { Role: FleetRole.Origin })
        {
            var who = caller?.ToString() ?? "no fleet identity";
            TakedownLog.Refused(logger, who, "only the origin's certificate may report takedowns");
            throw Denied($"certificate names {who}; only {FleetIdentity.Origin} may report takedowns");
        }

        try
        {
            var generation = takedowns.Replace(request.Takedowns, out var changed);
            if (changed)
            {
                TakedownLog.Replaced(logger, request.Takedowns.Count, generation);
            }

            return Task.FromResult(new TakedownAck { Generation = generation });
        }
        catch (ArgumentException ex)
        {
            TakedownLog.Refused(logger, caller.ToString(), ex.Message);
            throw Invalid(ex.Message);
        }
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

        if (identity.ParentUrl.Length > 0 && (!Uri.TryCreate(identity.ParentUrl, UriKind.Absolute, out var parent) || parent.Scheme != "https" || parent.Query.Length > 0))
        {
            return $"parent_url '{identity.ParentUrl}' must be empty or an absolute https:// URL without a query (the parent listener takes only fleet TLS)";
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

    /// <summary>The caller's appliance identity, which must be <paramref name="applianceId"/> (in <paramref name="site"/> when given).</summary>
    private FleetIdentity RequireCaller(ServerCallContext context, string applianceId, string? site)
    {
        var caller = FleetCaller.Of(context.GetHttpContext());
        if (caller is not { Role: FleetRole.Appliance } || caller.Name != applianceId || (site is not null && caller.Site != site))
        {
            var who = caller?.ToString() ?? "no fleet identity";
            var claimed = site is null ? applianceId : FleetIdentity.IsValidName(site) && FleetIdentity.IsValidName(applianceId) ? FleetIdentity.Appliance(site, applianceId).ToString() : applianceId;
            FleetLog.ControlCallRefused(logger, context.Method, who, $"claimed {claimed}");
            throw Denied($"certificate names {who}; it may not act as {claimed}");
        }

        return caller;
    }

    private static RpcException Denied(string message) => new(new Status(StatusCode.PermissionDenied, message));

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
