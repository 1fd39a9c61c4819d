namespace OpenConnect.Origin.Ingest;

/// <summary>Wires the TUS ingest endpoint (<c>/files/</c>), the upload status API and the ingest background loops into the origin host.</summary>
public static class IngestRegistration
{
    public static IServiceCollection AddOriginIngest(this IServiceCollection services)
    {
        services.AddSingleton<IngestMetrics>();
        services.AddSingleton<UploadStore>();
        services.AddSingleton<UploadCompletion>();
        services.AddSingleton<TusEndpoint>();
        services.AddHostedService<IngestBackground>();
        return services;
    }

    public static WebApplication MapOriginIngest(this WebApplication app)
    {
        var endpoint = app.Services.GetRequiredService<TusEndpoint>();
        app.Map("/files", context => endpoint.HandleAsync(context, id: null));
        app.Map("/files/{id}", context => endpoint.HandleAsync(context, (string?)context.Request.RouteValues["id"]));
        app.MapUploadStatus();
        return app;
    }
}
