using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Security;
using OpenConnect.Hosting;
using OpenConnect.Origin.Catalog;
using OpenConnect.Origin.Ingest;
using OpenConnect.Origin.Pipeline;
using OpenConnect.Origin.Protection;
using OpenConnect.Origin.Publishing;
using OpenConnect.Origin.Storage;
using OpenConnect.Origin.Web;

namespace OpenConnect.Origin;

/// <summary>Builds the origin host (ingest, transcode, packaging, catalog and the parent endpoint appliances pull from); used by <c>Program</c> and by in-process tests.</summary>
public static class OriginHost
{
    public const string RoleName = "origin";
    public const string DefaultUrls = "http://127.0.0.1:8100";
    public const string DefaultManagementUrl = "http://127.0.0.1:9100";

    public static WebApplication Build(string[] args) => Build(args, configureServices: null);

    /// <param name="args">Command-line arguments.</param>
    /// <param name="configureServices">Test hook: replaces services after the defaults are registered.</param>
    public static WebApplication Build(string[] args, Action<IServiceCollection>? configureServices)
    {
        var builder = RoleHost.CreateBuilder(RoleName, DefaultUrls, args);
        if (RoleOptionsRegistration.BindOrDefaults<OriginOptions>(builder.Configuration).IsWorker)
        {
            return BuildWorker(builder, configureServices);
        }

        RoleListeners.Add(builder, new RoleListenerSpec
        {
            DefaultUrls = DefaultUrls,
            DefaultManagementUrl = DefaultManagementUrl,
            // Appliances and the fill controller pull unsigned /v/… here with fleet certificates (Origin:Fleet:ParentUrl).
            ParentUrl = configuration => RoleOptionsRegistration.BindOrDefaults<OriginOptions>(configuration).Fleet.ParentUrl,
            ParentTls = OriginFleetCredentials.UseOnListener,
            ParentPaths = ["/v"],
        });
        builder.Services.AddRoleOptions<OriginOptions>(builder.Configuration);
        builder.Services.AddStateDirectory("data-directory", sp => sp.GetRequiredService<IOptions<OriginOptions>>().Value.DataDirectory);
        builder.Services.AddOriginObjectStore();
        builder.Services.AddSingleton(sp =>
        {
            var path = sp.GetRequiredService<IOptions<OriginOptions>>().Value.SigningKeyPath;
            var key = Ed25519SigningKey.LoadOrCreate(path);
            key.WritePublicKeyFile(Path.ChangeExtension(path, ".pub"));
            return key;
        });
        builder.Services.AddSingleton<IReloadable>(sp => new SigningKeyFileCheck(
            "origin integrity signing key",
            $"{OriginOptions.SectionName}:SigningKeyFile",
            sp.GetRequiredService<IOptions<OriginOptions>>().Value.SigningKeyPath,
            sp.GetRequiredService<Ed25519SigningKey>(),
            "appliances must trust the new public key (Appliance:Upstream:IntegrityKeys, reloadable) before the origin signs with it"));
        // One verifier of playback tokens for the parent and license endpoints, rebuilt on a reload.
        builder.Services.AddSingleton<OriginPlaybackAccess>();
        builder.Services.AddReloadable<OriginPlaybackAccess>();
        builder.Services.AddLiveSettings(
            $"{OriginOptions.SectionName}:PlaybackKeys",
            $"{OriginOptions.SectionName}:PlaybackMacKeyFile",
            $"{OriginOptions.SectionName}:ParentNetworks");
        builder.Services.AddSingleton(sp => OriginFleetCredentials.FromOptions(sp.GetRequiredService<IOptions<OriginOptions>>(), sp.GetService<TimeProvider>() ?? TimeProvider.System));
        builder.Services.AddSingleton<IReloadable>(sp => new FleetCredentialsReload(
            $"fleet certificate ({OriginOptions.SectionName}:Fleet)",
            () => sp.GetRequiredService<RoleListeners>().HasParent ? sp.GetRequiredService<FleetTlsCredentials>() : null));
        builder.Services.AddSingleton<ITitlePublisher, TitlePublisher>();
        builder.Services.AddSingleton(TitleTakedowns.Create);
        builder.Services.AddHostedService<TakedownReporter>();
        builder.Services.AddOriginPipeline();
        builder.Services.AddOriginIngest();
        builder.Services.AddOriginCatalog();
        builder.Services.AddOriginWebApp();
        builder.Services.AddOriginProtection();
        builder.Services.AddHostedService<CatalogSync>();
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.MapRoleEndpoints();
        app.MapParentEndpoint();
        app.MapOriginPipeline();
        app.MapOriginIngest();
        app.MapOriginCatalog();
        app.MapOriginWebApp();
        app.MapLicenseEndpoint();
        return app;
    }

    /// <summary>
    /// A worker process (<c>Origin:Role=worker</c>): claims and runs chunk encode jobs from the
    /// pipeline's job store, nothing else. Its data listener answers nothing (404); health and
    /// metrics are on the management listener, on a free port unless <c>Management:Url</c> says otherwise.
    /// </summary>
    private static WebApplication BuildWorker(WebApplicationBuilder builder, Action<IServiceCollection>? configureServices)
    {
        RoleListeners.Add(builder, new RoleListenerSpec { DefaultUrls = "http://127.0.0.1:0", DefaultManagementUrl = "http://127.0.0.1:0" });
        builder.Services.AddRoleOptions<OriginOptions>(builder.Configuration);
        builder.Services.AddStateDirectory("data-directory", sp => sp.GetRequiredService<IOptions<OriginOptions>>().Value.DataDirectory);
        builder.Services.AddOriginChunkWorker();
        configureServices?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapRoleEndpoints();
        return app;
    }
}
