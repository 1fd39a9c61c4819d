using Google.Protobuf;
using Grpc.Core;
using OpenConnect.Contracts.Content;
using OpenConnect.Contracts.Fill.V1;
using OpenConnect.Contracts.Fleet;
using OpenConnect.FillController.Fleet;
using OpenConnect.FillController.History;
using OpenConnect.FillController.Placement;

namespace OpenConnect.FillController.Fill;

/// <summary>
/// gRPC <c>FillOrders</c> on the fill controller's control endpoint: appliances pull their manifest
/// (sent only when its version changed) with their site's window state, and report per-file progress
/// and the requests they served per (title, rendition), which go to the popularity store for the
/// forecast's rendition mix. Each call is for the appliance its client certificate names, and only
/// while steering lists it (<see cref="RosterAdmission"/>): the id in the request must be the
/// certificate's, and the site used is the certificate's.
/// </summary>
public sealed class FillOrdersService(FillStore store, FillCoordinator coordinator, PopularityStore popularity, RosterAdmission admission, TimeProvider time, ILogger<FillOrdersService> logger) : FillOrders.FillOrdersBase
{
    public override async Task<ManifestReply> GetManifest(ManifestRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.ApplianceId))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "appliance_id is required"));
        }

        var caller = await CallerAsync(request.ApplianceId, context).ConfigureAwait(false);
        var reply = new ManifestReply();
        if (store.LatestManifest(caller.Name, request.HaveVersion) is not { } manifest || manifest.Site != caller.Site)
        {
            return reply;
        }

        var (open, until) = coordinator.WindowState(caller.Site);
        reply.Version = manifest.Version;
        reply.WindowOpen = open;
        reply.WindowEndUnixMs = until.ToUnixTimeMilliseconds();
        if (manifest.Version != request.HaveVersion)
        {
            reply.ZstdManifest = ByteString.CopyFrom(manifest.Zstd);
        }

        return reply;
    }

    public override async Task<ProgressAck> ReportProgress(ProgressReport request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.ApplianceId))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "appliance_id is required"));
        }

        foreach (var file in request.Files)
        {
            if (!ContentKey.IsValidTitleId(file.Title) || !ContentKey.IsValidRendition(file.Rendition) || file.State is not (FileState.Done or FileState.Failed))
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"file '{file.Title}/{file.Rendition}' needs a valid title, rendition and a state of DONE or FAILED"));
            }
        }

        foreach (var demand in request.Demand)
        {
            if (!ContentKey.IsValidTitleId(demand.Title) || !ContentKey.IsValidRendition(demand.Rendition) || demand.Requests < 0)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"demand '{demand.Title}/{demand.Rendition}' needs a valid title, rendition and requests >= 0"));
            }
        }

        var caller = await CallerAsync(request.ApplianceId, context).ConfigureAwait(false);
        var latest = store.LatestManifest(caller.Name, request.ManifestVersion);
        if (request.Demand.Count > 0)
        {
            RecordDemand(request, caller);
        }

        if (latest is not { } manifest || manifest.Site != caller.Site || manifest.Version != request.ManifestVersion)
        {
            return new ProgressAck { Current = false };
        }

        store.RecordProgress(manifest.Version, request.Files.Select(f => (new FileId(f.Title, f.Rendition), f.State == FileState.Done ? FillStore.Done : FillStore.Failed, f.Reason, f.BytesFetched)));
        FillLog.ProgressReported(logger, caller.Name, manifest.Version, request.Files.Count(f => f.State == FileState.Done), request.Files.Count(f => f.State == FileState.Failed));
        coordinator.StatusChanged(manifest.Site);
        if (request.Files.Count == 0)
        {
            return new ProgressAck { Current = true, WindowClosed = !coordinator.WindowState(manifest.Site).Open };
        }

        try
        {
            await coordinator.FilesReportedAsync(manifest.Site, request.Files.Select(f => new FileId(f.Title, f.Rendition)).ToList(), context.CancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The report is recorded; the held copies go out at their bound instead.
            FillLog.ReleaseFailed(logger, manifest.Site, request.Files[0].Title, request.Files[0].Rendition, ex);
        }

        return new ProgressAck { Current = true, WindowClosed = !coordinator.WindowState(manifest.Site).Open };
    }

    /// <summary>
    /// The appliance identity of the caller's certificate, when the request is for that appliance
    /// and steering still lists it; PermissionDenied naming both otherwise.
    /// </summary>
    private async Task<FleetIdentity> CallerAsync(string applianceId, ServerCallContext context)
    {
        var caller = FillCaller.Of(context.GetHttpContext());
        if (caller is not { Role: FleetRole.Appliance })
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"fill orders are for appliance certificates; the caller is {caller?.ToString() ?? "anonymous"}"));
        }

        if (!string.Equals(applianceId, caller.Name, StringComparison.Ordinal))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"appliance_id '{applianceId}' is not the appliance of the client certificate ({caller}, id '{caller.Name}')"));
        }

        if (await admission.RefusalAsync(caller, context.CancellationToken).ConfigureAwait(false) is { } refusal)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, refusal));
        }

        return caller;
    }

    /// <summary>Adds the report's request counts to the caller's site (from its certificate) for today (UTC, the controller's clock).</summary>
    private void RecordDemand(ProgressReport request, FleetIdentity caller)
    {
        var day = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        popularity.AddRenditionRequests(caller.Site, day, request.Demand.Where(d => d.Requests > 0).Select(d => (d.Title, d.Rendition, d.Requests)));
        FillLog.DemandReported(logger, caller.Name, caller.Site, request.Demand.Count, request.Demand.Sum(d => d.Requests), request.DemandDropped);
    }
}
