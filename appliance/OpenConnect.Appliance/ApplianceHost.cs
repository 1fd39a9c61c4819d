using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OpenConnect.Appliance.Caching;
using OpenConnect.Appliance.Control;
using OpenConnect.Appliance.Fill;
using OpenConnect.Appliance.Http;
using OpenConnect.Appliance.Serving;
using OpenConnect.Appliance.Upstream;
using OpenConnect.Hosting;

namespace OpenConnect.Appliance;

/// <summary>Builds the appliance host; used by <c>Program</c> and by in-process tests.</summary>
public static class ApplianceHost
{
    public const string RoleName = "appliance";
    public const string DefaultUrls = "http://127.0.0.1:8400";
    public const string DefaultManagementUrl = "http://127.0.0.1:9400";

    public static WebApplication Build(string[] args)
    {
        var builder = RoleHost.CreateBuilder(RoleName, DefaultUrls, args);
        var services = builder.Services;
        services.AddRoleOptions<ApplianceOptions>(builder.Configuration);
        // A full or failing cache disk degrades the appliance to pass-through; it keeps serving.
        services.AddStateDirectory("cache-directory", sp => sp.GetRequiredService<IOptions<ApplianceOptions>>().Value.Cache.Directory, HealthStatus.Degraded);
        services.AddSingleton<ApplianceMetrics>();
        services.AddSingleton<HttpDate>();
        services.AddSingleton(sp => new CorsPolicy(sp.GetRequiredService<IOptions<ApplianceOptions>>().Value.Cors.AllowedOrigins));
        services.AddSingleton<ParentTls>();
        services.AddSingleton<IValidateOptions<ApplianceOptions>, ParentTlsSettings>();
        services.AddSingleton<ParentFetcher>();
        services.AddSingleton<SegmentCache>();
        // Open the SSD tier (recovery) before any other service starts and before Kestrel accepts
        // the first connection: hosted services start in registration order, the server after them.
        services.AddHostedService<CacheStartup>();
        services.AddSingleton<AccessGate>();
        services.AddReloadable<AccessGate>();
        services.AddSingleton<IntegrityKeys>();
        services.AddReloadable<IntegrityKeys>();
        services.AddLiveSettings(
            $"{ApplianceOptions.SectionName}:PlaybackKeys",
            $"{ApplianceOptions.SectionName}:UnsignedNetworks",
            $"{ApplianceOptions.SectionName}:Upstream:IntegrityKeys");
        services.AddSingleton<CacheInventory>();
        services.AddSingleton<ControlState>();
        services.AddSingleton<Identity.FleetEnrollment>();
        services.AddHostedService(sp => sp.GetRequiredService<Identity.FleetEnrollment>());
        services.AddSingleton<ControlPlaneClient>();
        services.AddHostedService(sp => sp.GetRequiredService<ControlPlaneClient>());
        services.AddSingleton<SegmentServer>();
        services.AddHostedService<RequestPathCompiler>();
        services.AddSingleton<AccessLog>();
        services.AddHostedService(sp => sp.GetRequiredService<AccessLog>());
        services.AddHostedService<OriginDiscovery>();
        services.AddSingleton<FillMetrics>();
        services.AddSingleton<RenditionRequestCounter>();
        services.AddSingleton<FillAgent>();
        services.AddHostedService(sp => sp.GetRequiredService<FillAgent>());
        services.AddHealthChecks().AddCheck<SsdTierHealthCheck>("ssd-tier").AddCheck<ControlState.HealthCheck>("control-plane");
        services.AddGrpc();

        // Run the connection's code on the thread that completed the socket read instead of queueing it
        // to the thread pool a second time: the segment server's request loop only parses, looks up and
        // starts non-blocking sends, so nothing blocks there.
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);

        // Appliance:Serving:Transport=Epoll: the plaintext data listeners go to the epoll transport (registered
        // after the socket transport, so Kestrel asks it first); every other listener stays on sockets.
        var epoll = RoleOptionsRegistration.BindOrDefaults<ApplianceOptions>(builder.Configuration).Serving.Transport == ServingTransport.Epoll && OperatingSystem.IsLinux();
        if (epoll)
        {
            services.AddSingleton<Serving.Epoll.EpollTransportFactory>();
            services.AddSingleton<Microsoft.AspNetCore.Connections.IConnectionListenerFactory>(sp => sp.GetRequiredService<Serving.Epoll.EpollTransportFactory>());
        }

        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            // Options are validated (with key names) when the host starts; a section that does not
            // even bind falls back to defaults here so that validation is what reports it.
            var appliance = RoleOptionsRegistration.BindOrDefaults<ApplianceOptions>(context.Configuration);
            var limits = appliance.Limits;
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxConcurrentConnections = limits.MaxConnections;
            kestrel.Limits.MaxRequestLineSize = limits.MaxRequestLineBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = limits.MaxRequestHeaderBytes;
            kestrel.Limits.MaxRequestHeaderCount = limits.MaxRequestHeaderCount;
            kestrel.Limits.RequestHeadersTimeout = limits.RequestHeadTimeout;
            kestrel.Limits.KeepAliveTimeout = limits.KeepAliveTimeout;
            kestrel.Limits.MaxRequestBodySize = 64 * 1024;
            if (limits.MinResponseBytesPerSecond > 0)
            {
                // Kestrel (the HTTPS and handed-over path) needs a grace period above one second.
                var grace = limits.MinResponseRateGrace > TimeSpan.FromSeconds(2) ? limits.MinResponseRateGrace : TimeSpan.FromSeconds(2);
                kestrel.Limits.MinResponseDataRate = new Microsoft.AspNetCore.Server.Kestrel.Core.MinDataRate(limits.MinResponseBytesPerSecond, grace);
            }
        });

        // Data endpoints (from `urls`, plaintext or HTTPS) and the parent listener speak HTTP/1.1
        // through the segment server (under TLS on the decrypted connection; ALPN offers only
        // http/1.1); the control endpoint speaks HTTP/2 over mutual TLS with fleet certificates
        // (operators only), and only on an appliance with a fleet identity; health and metrics
        // answer on the management listener.
        Func<IServiceProvider, Func<Microsoft.AspNetCore.Connections.ConnectionDelegate, Microsoft.AspNetCore.Connections.ConnectionDelegate>> segmentServer = services =>
        {
            var server = services.GetRequiredService<SegmentServer>();
            return next => connection => server.OnConnectionAsync(connection, next);
        };
        RoleListeners.Add(builder, new RoleListenerSpec
        {
            DefaultUrls = DefaultUrls,
            DefaultManagementUrl = DefaultManagementUrl,
            DataProtocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1,
            DataConnectionMiddleware = epoll ? Serving.Epoll.EpollTransportFactory.ForDataListeners(segmentServer) : segmentServer,
            ControlUrl = ControlListener.Urls,
            // The drain switch and prefetch answer only on the control listener, which serves nothing else.
            ControlPaths = [DrainEndpoint.Path, PurgeEndpoint.Path, "/" + Contracts.Appliance.V1.ApplianceFill.Descriptor.FullName],
            ControlTls = ControlListener.UseFleetTls,
            // Other appliances pull unsigned /v/… here with fleet certificates (Appliance:Upstream:ParentListenerUrl).
            ParentUrl = configuration => RoleOptionsRegistration.BindOrDefaults<ApplianceOptions>(configuration).Upstream.ParentListenerUrl,
            ParentTls = listen => listen.ApplicationServices.GetRequiredService<ParentTls>().UseOnListener(listen),
            ParentPaths = ["/v"],
            ParentProtocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1,
            ParentConnectionMiddleware = segmentServer,
        });

        var app = builder.Build();
        app.UseHandedOverConnections();
        app.UseParentAccessLog();
        app.MapRoleEndpoints();
        app.UseMiddleware<ControlGate>();
        app.MapGrpcService<PrefetchService>();
        app.MapDrain();
        app.MapPurge();
        return app;
    }

    private sealed class SsdTierHealthCheck(SegmentCache cache) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            if (!cache.IsStarted)
            {
                return Task.FromResult(HealthCheckResult.Unhealthy("SSD tier still opening"));
            }

            var store = cache.Store;
            var data = new Dictionary<string, object>
            {
                ["objects"] = store.Count,
                ["usedBytes"] = store.UsedBytes,
                ["capacityBytes"] = store.CapacityBytes,
                ["writeFailures"] = store.WriteFailures,
            };
            return Task.FromResult(store.IsHealthy
                ? HealthCheckResult.Healthy("SSD tier writable", data)
                : HealthCheckResult.Degraded("SSD tier failing writes: serving RAM hits and pass-through", data: data));
        }
    }
}
