using Microsoft.Extensions.Options;

namespace OpenConnect.Origin.Pipeline;

/// <summary>Wires the transcode pipeline (its SQLite state, workers and API) into the origin host.</summary>
public static class PipelineRegistration
{
    public static IServiceCollection AddOriginPipeline(this IServiceCollection services)
    {
        services.AddSingleton(sp => new PipelinePaths(sp.GetRequiredService<IOptions<OriginOptions>>().Value.DataDirectory));
        services.AddSingleton(sp => new TitleStore(sp.GetRequiredService<PipelinePaths>().Database, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(_ => new SourceProbe(TimeSpan.FromSeconds(60)));
        services.AddSingleton<PipelineSignal>();
        services.AddSingleton<PipelineMetrics>();
        services.AddSingleton<TitleProcessor>();
        services.AddSingleton<IPipelineIntake, PipelineIntake>();
        services.AddHostedService<PipelineWorker>();
        return services;
    }

    public static WebApplication MapOriginPipeline(this WebApplication app)
    {
        app.MapTitlesApi();
        return app;
    }
}
