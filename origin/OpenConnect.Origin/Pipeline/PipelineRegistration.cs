using Microsoft.Extensions.Options;
using OpenConnect.Origin.Pipeline.Jobs;

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
        services.AddHostedService<ChunkWorker>();
        return services;
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
