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
            var kekPath = options.Protection.KeyEncryptionKeyPath(options.DataDirectory);
            var previous = options.Protection.PreviousKeyEncryptionKeyFiles
                .Where(file => !string.Equals(Path.GetFullPath(file), Path.GetFullPath(kekPath), StringComparison.Ordinal))
                .Select(KeyEncryptionKey.Load)
                .ToList();
            var kek = KeyEncryptionKey.LoadOrCreate(kekPath);
            var store = new TitleKeyStore(Path.Combine(options.DataDirectory, "keys.db"), kek, previous, sp.GetRequiredService<TimeProvider>());
            var metrics = sp.GetRequiredService<ProtectionMetrics>();
            var logger = sp.GetRequiredService<ILogger<TitleKeyStore>>();
            store.Created += (titleId, key) =>
            {
                metrics.KeysCreated.Inc();
                ProtectionLog.TitleKeyCreated(logger, titleId, key.KeyIdHex, store.KeyEncryptionKeyId);
            };
            return store;
        });
        services.AddSingleton<ITitleKeys>(sp => sp.GetRequiredService<TitleKeyStore>());
        services.AddSingleton<LicenseRateLimiter>();
        services.AddSingleton<LicenseEndpoint>();

        // Open the KEK and the database while the host starts: a malformed or exposed KEK file stops
        // the origin with its message instead of failing the first protected title later.
        services.AddHostedService<KeyStoreStartup>();
        return services;
    }

    private sealed class KeyStoreStartup(IServiceProvider services, IOptions<OriginOptions> options, ILogger<TitleKeyStore> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            var store = services.GetRequiredService<TitleKeyStore>();
            if (options.Value.Protection.PreviousKeyEncryptionKeyFiles.Count > 0)
            {
                // A rotation: move every key to the current KEK before serving, so the previous files
                // can be removed once this says nothing is left.
                var result = store.RewrapToCurrent();
                ProtectionLog.KeysRewrapped(logger, result.Rewrapped, store.KeyEncryptionKeyId, result.LeftUnderUnknownKeks.Values.Sum(), string.Join(", ", result.LeftUnderUnknownKeks.Keys), result.Damaged.Count);
            }
            else
            {
                var others = store.CountByKek().Where(c => c.Key != store.KeyEncryptionKeyId).ToList();
                if (others.Count > 0)
                {
                    ProtectionLog.KeysUnderOtherKeks(logger, others.Sum(c => c.Value), string.Join(", ", others.Select(c => c.Key)), store.KeyEncryptionKeyId);
                }
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
