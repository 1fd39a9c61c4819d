using Google.Protobuf;
using Grpc.Core;
using OpenConnect.Contracts.Content;
using OpenConnect.Contracts.Fill.V1;
using OpenConnect.FillController.History;
using OpenConnect.FillController.Placement;

namespace OpenConnect.FillController.Fill;

/// <summary>
/// gRPC <c>FillOrders</c> on the fill controller's control endpoint: appliances pull their manifest
/// (sent only when its version changed) with their site's window state, and report per-file progress
/// and the requests they served per (title, rendition), which go to the popularity store for the
/// forecast's rendition mix.
/// </summary>
public sealed class FillOrdersService(FillStore store, FillCoordinator coordinator, PopularityStore popularity, TimeProvider time, ILogger<FillOrdersService> logger) : FillOrders.FillOrdersBase
{
    public override Task<ManifestReply> GetManifest(ManifestRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.ApplianceId))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "appliance_id is required"));
        }

        var reply = new ManifestReply();
        if (store.LatestManifest(request.ApplianceId, request.HaveVersion) is not { } manifest)
        {
            return Task.FromResult(reply);
        }

        var (open, until) = coordinator.WindowState(manifest.Site);
        reply.Version = manifest.Version;
        reply.WindowOpen = open;
        reply.WindowEndUnixMs = until.ToUnixTimeMilliseconds();
        if (manifest.Version != request.HaveVersion)
        {
            reply.ZstdManifest = ByteString.CopyFrom(manifest.Zstd);
        }

        return Task.FromResult(reply);
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

        var latest = store.LatestManifest(request.ApplianceId, request.ManifestVersion);
        if (request.Demand.Count > 0)
        {
            await RecordDemandAsync(request, latest?.Site, context.CancellationToken).ConfigureAwait(false);
        }

        if (latest is not { } manifest || manifest.Version != request.ManifestVersion)
        {
            return new ProgressAck { Current = false };
        }

        store.RecordProgress(manifest.Version, request.Files.Select(f => (new FileId(f.Title, f.Rendition), f.State == FileState.Done ? FillStore.Done : FillStore.Failed, f.Reason, f.BytesFetched)));
        FillLog.ProgressReported(logger, request.ApplianceId, manifest.Version, request.Files.Count(f => f.State == FileState.Done), request.Files.Count(f => f.State == FileState.Failed));
        coordinator.StatusChanged(manifest.Site);
        return new ProgressAck { Current = true, WindowClosed = !coordinator.WindowState(manifest.Site).Open };
    }

    /// <summary>Adds the report's request counts to its appliance's site (from its manifest, else steering's roster) for today (UTC, the controller's clock).</summary>
    private async Task RecordDemandAsync(ProgressReport request, string? site, CancellationToken cancellationToken)
    {
        if (site is null)
        {
            var roster = await coordinator.RosterAsync(cancellationToken).ConfigureAwait(false);
            site = roster.FirstOrDefault(a => string.Equals(a.ApplianceId, request.ApplianceId, StringComparison.Ordinal))?.Site
                ?? throw new RpcException(new Status(StatusCode.FailedPrecondition, $"appliance '{request.ApplianceId}' has no manifest and steering does not list it: its demand has no site"));
        }

        var day = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        popularity.AddRenditionRequests(site, day, request.Demand.Where(d => d.Requests > 0).Select(d => (d.Title, d.Rendition, d.Requests)));
        FillLog.DemandReported(logger, request.ApplianceId, site, request.Demand.Count, request.Demand.Sum(d => d.Requests), request.DemandDropped);
    }
}
