namespace OpenConnect.Steering.Takedown;

public static class TakedownServices
{
    /// <summary>The takedown registry, loaded when the host starts so a damaged <c>takedowns.json</c> stops the start with its reason.</summary>
    public static IServiceCollection AddTakedowns(this IServiceCollection services)
    {
        services.AddSingleton<TakedownRegistry>();
        services.AddHostedService<TakedownStartup>();
        return services;
    }

    private sealed class TakedownStartup(TakedownRegistry registry, ILogger<TakedownRegistry> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            TakedownLog.Loaded(logger, registry.Count, registry.Generation);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
