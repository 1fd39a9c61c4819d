using System.Diagnostics;
using Grpc.Core;
using Microsoft.Extensions.Options;
using OpenConnect.Appliance.Caching;
using OpenConnect.Contracts.Appliance.V1;
using OpenConnect.Contracts.Content;

namespace OpenConnect.Appliance.Serving;

/// <summary>
/// The operator's fill entry point (gRPC <c>ApplianceFill.Prefetch</c>, on the control endpoint, for
/// <c>openconnect://operator/{name}</c> certificates only): brings a list of objects onto the SSD tier
/// one after another within a bandwidth cap, streaming progress.
/// </summary>
public sealed class PrefetchService(SegmentCache cache, IOptions<ApplianceOptions> options, TimeProvider time, ILogger<PrefetchService> logger) : ApplianceFill.ApplianceFillBase
{
    public const int MaxObjectsPerRequest = 100_000;

    public override async Task Prefetch(PrefetchRequest request, IServerStreamWriter<PrefetchProgress> responseStream, ServerCallContext context)
    {
        // The control gate admits operators only; a call that did not come through it is refused too.
        var caller = Control.ControlGate.Operator(context.GetHttpContext())
            ?? throw new RpcException(new Status(StatusCode.PermissionDenied, "Prefetch takes an operator certificate on the control endpoint"));
        if (request.Paths.Count > MaxObjectsPerRequest)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"at most {MaxObjectsPerRequest} paths per request"));
        }

        if (request.RateBytesPerSecond < 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "rate_bytes_per_second must not be negative"));
        }

        var paths = new List<string>(request.Paths.Count);
        foreach (var raw in request.Paths)
        {
            if (!ContentKey.TryParse(raw, out var key))
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"'{raw}' is not a content path (/v/{{title}}/[{{rendition}}/]{{file}})"));
            }

            paths.Add(key.Path);
        }

        Control.ControlLog.Prefetch(logger, paths.Count, caller.ToString());
        var rate = request.RateBytesPerSecond > 0 ? request.RateBytesPerSecond : options.Value.Fill.RateBytesPerSecond;
        var progress = new PrefetchProgress { ObjectsTotal = paths.Count };
        var pacer = new Fill.RatePacer(rate, time);
        foreach (var path in paths)
        {
            var result = await cache.PrefetchAsync(KeyHash.Of(path), path, context.CancellationToken);
            progress.BytesFetched += result.BytesFetched;
            if (result.Ok)
            {
                progress.ObjectsDone++;
            }
            else
            {
                progress.ObjectsFailed++;
            }

            var update = progress.Clone();
            update.Path = path;
            update.Error = result.Error ?? "";
            update.AlreadyHeld = result.AlreadyHeld;
            await responseStream.WriteAsync(update, context.CancellationToken);

            await pacer.AddAsync(result.BytesFetched, context.CancellationToken);
        }

        await responseStream.WriteAsync(progress, context.CancellationToken);
        Debug.Assert(progress.ObjectsDone + progress.ObjectsFailed == progress.ObjectsTotal);
    }
}
