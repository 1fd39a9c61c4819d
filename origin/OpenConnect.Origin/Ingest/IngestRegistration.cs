namespace OpenConnect.Origin.Ingest;

/// <summary>Wires the TUS ingest endpoint into the origin host.</summary>
public static class IngestRegistration
{
    public static IServiceCollection AddOriginIngest(this IServiceCollection services) => services;

    public static WebApplication MapOriginIngest(this WebApplication app) => app;
}
