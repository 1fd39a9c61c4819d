using Microsoft.Extensions.Options;
using OpenConnect.Origin.Pipeline.Jobs;
using OpenConnect.Origin.Storage;

namespace OpenConnect.Origin.Pipeline;

/// <summary>Wires the transcode pipeline (its job store, workers and API) into the origin host.</summary>
public static class PipelineRegistration
{
    public static IServiceCollection AddOriginPipeline(this IServiceCollection services)
    {
        services.AddOriginChunkWorker();
        services.AddSingleton<SourceProbe>();
        services.AddSingleton<PipelineSignal>();
        services.AddSingleton<PipelineTraces>();
        services.AddSingleton<TitleProcessor>();
        services.AddSingleton<IPipelineIntake, PipelineIntake>();
        services.AddHostedService<PipelineWorker>();
        return services;
    }

    /// <summary>The job store and the chunk workers: all a worker process (<c>Origin:Role=worker</c>) runs.</summary>
    public static IServiceCollection AddOriginChunkWorker(this IServiceCollection services)
    {
        services.AddSingleton(sp => new PipelinePaths(sp.GetRequiredService<IOptions<OriginOptions>>().Value.DataDirectory));
        services.AddSingleton(sp => new JobStore(
            JobDatabase.From(sp.GetRequiredService<IOptions<OriginOptions>>().Value.Pipeline.Database, sp.GetRequiredService<PipelinePaths>().Database),
            sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new MediaToolSandbox(sp.GetRequiredService<IOptions<OriginOptions>>().Value.Pipeline.Sandbox, sp.GetRequiredService<ILogger<MediaToolSandbox>>()));
        services.AddHostedService<MediaToolSandboxCheck>();
        services.AddSingleton(sp => new Ffmpeg(sp.GetRequiredService<MediaToolSandbox>(), sp.GetRequiredService<IOptions<OriginOptions>>().Value.Pipeline.ProcessTimeout));
        services.AddSingleton<PipelineMetrics>();
        services.AddSingleton<ChunkSignal>();
        services.AddSingleton<ChunkEncoder>();
        services.AddSingleton(CreateChunkTransfer);
        services.AddHostedService<WorkObjectStoreCheck>();
        services.AddHostedService<ChunkWorker>();
        return services;
    }

    /// <summary>
    /// Chunk inputs and outputs go through the object store when it is S3: the host's store when it has
    /// one (the origin), else a client of this process's own for the same bucket (a worker process).
    /// </summary>
    private static ChunkTransfer CreateChunkTransfer(IServiceProvider sp)
    {
        var origin = sp.GetRequiredService<IOptions<OriginOptions>>().Value;
        IWorkObjectStore? objects = null;
        IDisposable? owned = null;
        if (origin.Storage.IsS3)
        {
            objects = sp.GetService<IObjectStore>() as IWorkObjectStore;
            if (objects is null)
            {
                var own = new S3ObjectStore(ObjectStoreRegistration.CreateClient(origin.Storage.S3), origin.Storage.S3, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<S3ObjectStore>>());
                (objects, owned) = (own, own);
            }
        }

        return new ChunkTransfer(objects, sp.GetRequiredService<PipelinePaths>(), sp.GetRequiredService<JobStore>(), sp.GetRequiredService<PipelineMetrics>(), sp.GetRequiredService<ILogger<ChunkTransfer>>()) { Owned = owned };
    }

    public static WebApplication MapOriginPipeline(this WebApplication app)
    {
        app.MapTitlesApi();
        return app;
    }
}

/// <summary>Finds out at start how the media tools can be sandboxed, so that a required isolation that is missing stops the origin before it takes uploads.</summary>
internal sealed class MediaToolSandboxCheck(MediaToolSandbox sandbox) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        sandbox.EnsureReady();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>
/// In a worker process with <c>Origin:Storage:Kind=S3</c> (whose bucket client is its own): checks at
/// start that the bucket can be listed, so a wrong endpoint, bucket or key stops the worker with the
/// setting to fix instead of failing every chunk it claims. The origin checks its store itself.
/// </summary>
internal sealed class WorkObjectStoreCheck(ChunkTransfer transfer) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (transfer.Owned is S3ObjectStore store)
        {
            await store.CheckBucketAsync(create: false, cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
