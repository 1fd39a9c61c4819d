using Google.Protobuf;
using Grpc.Core;
using OpenConnect.Contracts.Content;
using OpenConnect.Contracts.Fill.V1;
using OpenConnect.FillController.Placement;

namespace OpenConnect.FillController.Fill;

/// <summary>
/// gRPC <c>FillOrders</c> on the fill controller's control endpoint: appliances pull their manifest
/// (sent only when its version changed) with their site's window state, and report per-file progress.
/// </summary>
public sealed class FillOrdersService(FillStore store, FillCoordinator coordinator, ILogger<FillOrdersService> logger) : FillOrders.FillOrdersBase
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

    public override Task<ProgressAck> ReportProgress(ProgressReport request, ServerCallContext context)
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

        if (store.LatestManifest(request.ApplianceId, request.ManifestVersion) is not { } manifest || manifest.Version != request.ManifestVersion)
        {
            return Task.FromResult(new ProgressAck { Current = false });
        }

        store.RecordProgress(manifest.Version, request.Files.Select(f => (new FileId(f.Title, f.Rendition), f.State == FileState.Done ? FillStore.Done : FillStore.Failed, f.Reason, f.BytesFetched)));
        FillLog.ProgressReported(logger, request.ApplianceId, manifest.Version, request.Files.Count(f => f.State == FileState.Done), request.Files.Count(f => f.State == FileState.Failed));
        coordinator.StatusChanged(manifest.Site);
        return Task.FromResult(new ProgressAck { Current = true, WindowClosed = !coordinator.WindowState(manifest.Site).Open });
    }
}
