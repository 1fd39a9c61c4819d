using Microsoft.Extensions.Options;

namespace OpenConnect.Origin.Protection;

/// <summary>Wires the title key store and the ClearKey license endpoint into the origin host.</summary>
public static class ProtectionRegistration
{
    public static IServiceCollection AddOriginProtection(this IServiceCollection services)
    {
        services.AddSingleton<ProtectionMetrics>();
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<OriginOptions>>().Value;
            var kek = KeyEncryptionKey.LoadOrCreate(options.Protection.KeyEncryptionKeyPath(options.DataDirectory));
            var store = new TitleKeyStore(Path.Combine(options.DataDirectory, "keys.db"), kek, sp.GetRequiredService<TimeProvider>());
            var metrics = sp.GetRequiredService<ProtectionMetrics>();
            store.Created += _ => metrics.KeysCreated.Inc();
            return store;
        });
        services.AddSingleton<ITitleKeys>(sp => sp.GetRequiredService<TitleKeyStore>());

        // Open the KEK and the database while the host starts: a malformed or exposed KEK file stops
        // the origin with its message instead of failing the first protected title later.
        services.AddHostedService<KeyStoreStartup>();
        return services;
    }

    private sealed class KeyStoreStartup(IServiceProvider services) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            services.GetRequiredService<TitleKeyStore>();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
