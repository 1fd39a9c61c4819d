using Microsoft.Extensions.Options;

namespace OpenConnect.Origin.Web;

/// <summary>Wires the web app (static pages and assets), the QoE beacon endpoint and the operator page's fleet API into the origin host.</summary>
public static class WebAppRegistration
{
    public static IServiceCollection AddOriginWebApp(this IServiceCollection services)
    {
        services.AddSingleton(sp => new WebAppFiles(sp.GetRequiredService<IOptions<OriginOptions>>().Value.Web.EffectiveDirectory()));
        services.AddSingleton<QoeAggregator>();
        services.AddSingleton<FleetStatusReader>();
        return services;
    }

    public static WebApplication MapOriginWebApp(this WebApplication app)
    {
        WebAppEndpoints.Map(app);
        QoeEndpoints.Map(app);
        OperatorEndpoints.Map(app);
        return app;
    }
}
