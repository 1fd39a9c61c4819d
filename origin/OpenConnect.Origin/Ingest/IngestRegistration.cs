using Microsoft.Extensions.Options;
using OpenConnect.Origin.Ingest.Shared;

namespace OpenConnect.Origin.Ingest;

/// <summary>Wires the TUS ingest endpoint (<c>/files/</c>), the upload status API and the ingest background loops into the origin host.</summary>
public static class IngestRegistration
{
    public static IServiceCollection AddOriginIngest(this IServiceCollection services)
    {
        services.AddSingleton<IngestMetrics>();
        services.AddSingleton<IUploadStore>(sp => sp.GetRequiredService<IOptions<OriginOptions>>().Value.Ingest.IsShared
            ? ActivatorUtilities.CreateInstance<SharedUploadStore>(sp)
            : ActivatorUtilities.CreateInstance<LocalUploadStore>(sp));
        services.AddSingleton<IValidateOptions<OriginOptions>, SharedStoreRequirements>();
        services.AddHostedService<SharedUploadStoreStartup>();
        services.AddSingleton<UploadQuotas>();
        services.AddSingleton<UploadRateLimiter>();
        services.AddSingleton<UploadCompletion>();
        services.AddSingleton<TusEndpoint>();
        services.AddHostedService<IngestBackground>();

        // Upload bodies are long streams: without the zero-byte wait before each receive Kestrel
        // reads the socket with half the syscalls (measured by the ingest bench).
        services.Configure<Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets.SocketTransportOptions>(o => o.WaitForDataBeforeAllocatingBuffer = false);
        services.AddSingleton<Microsoft.AspNetCore.Connections.IMemoryPoolFactory<byte>, ReceiveBufferPoolFactory>();
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
