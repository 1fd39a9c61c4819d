using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Security;
using OpenConnect.Hosting;
using OpenConnect.Steering.ControlPlane;
using OpenConnect.Steering.Fleet;
using OpenConnect.Steering.Play;
using OpenConnect.Steering.Prefixes;
using OpenConnect.Steering.Selection;
using OpenConnect.Steering.Signing;
using OpenConnect.Steering.Takedown;

namespace OpenConnect.Steering;

/// <summary>Builds the steering host (appliance control plane, client-to-site mapping, ranking and URL signing); used by <c>Program</c> and by in-process tests.</summary>
public static class SteeringHost
{
    public const string RoleName = "steering";
    public const string DefaultUrls = "http://127.0.0.1:8200";
    public const string DefaultManagementUrl = "http://127.0.0.1:9200";

    public static WebApplication Build(string[] args) => Build(args, _ => { });

    /// <summary>Builds the host, letting <paramref name="configureServices"/> replace services last (tests: a fake <see cref="TimeProvider"/>).</summary>
    public static WebApplication Build(string[] args, Action<IServiceCollection> configureServices)
    {
        var builder = RoleHost.CreateBuilder(RoleName, DefaultUrls, args);
        var services = builder.Services;
        services.AddRoleOptions<SteeringOptions>(builder.Configuration);
        services.AddStateDirectory("data-directory", sp => sp.GetRequiredService<IOptions<SteeringOptions>>().Value.DataDirectory);
        services.AddSingleton<ApplianceRegistry>();
        services.AddSingleton<SteeringMetrics>();
        services.AddSingleton<PrefixDirectoryWatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<PrefixDirectoryWatcher>());
        services.AddHealthChecks().AddCheck<PrefixDirectoryWatcher>("prefix-tables");
        services.AddSingleton<IReloadable, PrefixTablesReload>();
        services.AddSingleton<IReloadable>(sp => new SigningKeyFileCheck(
            "steering signing key",
            $"{SteeringOptions.SectionName}:SigningKeyFile",
            Path.GetFullPath(sp.GetRequiredService<IOptions<SteeringOptions>>().Value.ResolvedSigningKeyFile),
            sp.GetRequiredService<Ed25519SigningKey>(),
            "every appliance's and the origin's playback key derives from it"));
        services.AddSingleton(sp => LoadSigningKey(sp.GetRequiredService<IOptions<SteeringOptions>>().Value, sp.GetRequiredService<ILogger<TokenIssuer>>()));
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<SteeringOptions>>().Value;
            return new TokenIssuer(sp.GetRequiredService<Ed25519SigningKey>(), options.TokenLifetime, options.BindTokensToClientPrefix, options.CacheTokens, options.TokenFormat);
        });
        services.AddSingleton<SteeringDecisions>();
        services.AddSingleton(sp => new PlayHistory(sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new PlayDeduplication(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<SteeringOptions>>().Value.MaxDailyPlayPairs));
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<SteeringOptions>>().Value;
            return new PlayRateLimiter(sp.GetRequiredService<TimeProvider>(), options.PlayRateLimitPerSecond, options.PlayRateLimitBurst, options.PlayRateLimitClients);
        });
        services.AddSingleton<OriginCatalog>();
        services.AddTakedowns();
        services.AddSingleton<ControlEndpoint>();
        services.AddFleet();
        services.AddHostedService<SigningKeyPublisher>();
        services.AddGrpc();
        services.AddCors(cors => cors.AddPolicy(PlayEndpoints.CorsPolicy, policy => policy.AllowAnyOrigin().AllowAnyHeader().WithMethods("GET", "HEAD").WithExposedHeaders("Retry-After")));

        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        // Player endpoints from `urls`; the control plane (and the fill controller's roster) on its
        // own HTTP/2 listener, which serves nothing else; health and metrics on the management listener.
        RoleListeners.Add(builder, new RoleListenerSpec
        {
            DefaultUrls = DefaultUrls,
            DefaultManagementUrl = DefaultManagementUrl,
            ControlUrl = configuration => RoleOptionsRegistration.BindOrDefaults<SteeringOptions>(configuration).ControlUrl,
            // The play history is read here too, by the fill controller's certificate (or an operator's).
            ControlPaths = [ControlEndpoint.ServicePath, ControlEndpoint.RosterPath, FleetEndpoint.RenewPath, PlayHistory.Route],
            // Mutual TLS with the fleet CA: a client certificate is required in the handshake.
            ControlTls = listen => listen.UseFleetTls(requireClientCertificate: true),
        });

        // Enrollment and operator calls on a listener of their own: TLS with steering's fleet
        // certificate, client certificate optional (a new appliance has none yet; the code is its credential).
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            var steering = RoleOptionsRegistration.BindOrDefaults<SteeringOptions>(context.Configuration);
            if (!Uri.TryCreate(steering.Fleet.EnrollUrl, UriKind.Absolute, out _))
            {
                return;
            }

            foreach (var url in ListenUrls.Parse(steering.Fleet.EnrollUrl, "Steering:Fleet:EnrollUrl"))
            {
                ListenUrls.Listen(kestrel, url, listen =>
                {
                    listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1AndHttp2;
                    listen.UseFleetTls(requireClientCertificate: false);
                });
            }
        });

        configureServices(services);
        var app = builder.Build();
        app.UseCors();
        app.MapRoleEndpoints();
        app.UseMiddleware<FleetGate>();
        app.MapGrpcService<ControlPlaneService>();
        app.MapGrpcService<RosterService>();
        app.MapFleet();
        app.MapPlay();
        app.MapPlayHistory();
        return app;
    }

    private static Ed25519SigningKey LoadSigningKey(SteeringOptions options, ILogger logger)
    {
        var path = Path.GetFullPath(options.ResolvedSigningKeyFile);
        var key = Ed25519SigningKey.LoadOrCreate(path);
        var publicPath = Path.Combine(Path.GetDirectoryName(path)!, "steering-signing.pub");
        SteeringLog.SigningKeyLoaded(logger, key.KeyId, path, publicPath);
        return key;
    }

    /// <summary>
    /// Writes, beside the private key at start (temp file + rename), the public key (for v1 verifiers'
    /// configuration) and the origin's playback MAC key (owner-only: the origin's
    /// <c>Origin:PlaybackMacKeyFile</c>, for v2 tokens).
    /// </summary>
    private sealed class SigningKeyPublisher(Ed25519SigningKey key, TokenIssuer tokens, IOptions<SteeringOptions> options) : IHostedService
    {
        /// <summary>The file name of the origin's MAC key, beside steering's signing key.</summary>
        public const string OriginKeyFileName = "origin-playback-mac.key";

        public Task StartAsync(CancellationToken cancellationToken)
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(options.Value.ResolvedSigningKeyFile))!;
            // The origin's key first: run.sh waits for the public key file, then starts the origin with both.
            tokens.OriginKey.Save(Path.Combine(directory, OriginKeyFileName));
            var path = Path.Combine(directory, "steering-signing.pub");
            var temp = path + ".tmp";
            File.WriteAllText(temp, key.PublicKey + "\n");
            File.Move(temp, path, overwrite: true);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
