using Microsoft.Extensions.DependencyInjection;

namespace OpenConnect.Hosting;

/// <summary>
/// A configuration key (or a section: every key below it) whose new value a role applies on SIGHUP
/// without a restart. Every other changed key is logged as needing a restart: listen addresses,
/// state directories, cache sizes and the like are read once at start.
/// </summary>
/// <param name="Key">The key or section, e.g. <c>Appliance:PlaybackKeys</c>; matched without regard to case.</param>
public sealed record LiveSetting(string Key)
{
    /// <summary>Whether <paramref name="key"/> is this setting or a key below it.</summary>
    public bool Covers(string key) =>
        key.StartsWith(Key, StringComparison.OrdinalIgnoreCase)
        && (key.Length == Key.Length || key[Key.Length] == ':');
}

public static class LiveSettingsRegistration
{
    /// <summary>Declares keys (or sections) the role applies live on reload; see <see cref="LiveSetting"/>.</summary>
    public static IServiceCollection AddLiveSettings(this IServiceCollection services, params string[] keys)
    {
        foreach (var key in keys)
        {
            services.AddSingleton(new LiveSetting(key));
        }

        return services;
    }

    /// <summary>Registers the singleton <typeparamref name="T"/> as an <see cref="IReloadable"/> too.</summary>
    public static IServiceCollection AddReloadable<T>(this IServiceCollection services)
        where T : class, IReloadable
    {
        services.AddSingleton<IReloadable>(sp => sp.GetRequiredService<T>());
        return services;
    }
}
