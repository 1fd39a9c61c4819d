using OpenConnect.FillController.Forecast;
using OpenConnect.FillController.History;
using OpenConnect.FillController.Placement;

namespace OpenConnect.FillController;

/// <summary>Registers play-history collection, the popularity forecast and the placement planner.</summary>
public static class PopularityRegistration
{
    public static IServiceCollection AddPopularityAndPlacement(this IServiceCollection services)
    {
        services.AddHttpClient(PopularityCollector.HttpClientName, client => client.Timeout = TimeSpan.FromSeconds(30));
        services.AddSingleton<PopularityStore>();
        services.AddSingleton<PopularityCollector>();
        services.AddHostedService(sp => sp.GetRequiredService<PopularityCollector>());
        services.AddSingleton<RenditionSizes>();
        services.AddSingleton<IPopularityForecast, PopularityForecast>();
        services.AddSingleton<IPlacementPlanner, FillPlanner>();
        return services;
    }
}
