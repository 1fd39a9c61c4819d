using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OpenConnect.Appliance.Caching;
using OpenConnect.Appliance.Control;
using OpenConnect.Appliance.Fill;
using OpenConnect.Appliance.Http;
using OpenConnect.Appliance.Serving;
using OpenConnect.Appliance.Storage;
using OpenConnect.Appliance.Upstream;
using OpenConnect.Contracts.Hosting;

namespace OpenConnect.Appliance;

/// <summary>Builds the appliance host; used by <c>Program</c> and by in-process tests.</summary>
public static class ApplianceHost
{
    public const string RoleName = "appliance";
    public const string DefaultUrls = "http://127.0.0.1:8400";

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
        services.AddSingleton<ParentFetcher>();
        services.AddSingleton(sp =>
        {
            var cache = sp.GetRequiredService<IOptions<ApplianceOptions>>().Value.Cache;
            var options = new SsdStoreOptions(Path.Combine(cache.Directory, "ssd"), cache.SsdBytes, cache.CheckpointInterval);
            return SsdStore.OpenAsync(options, sp.GetRequiredService<ILogger<SsdStore>>(), sp.GetRequiredService<TimeProvider>()).GetAwaiter().GetResult();
        });
        services.AddSingleton(sp =>
        {
            var cache = ActivatorUtilities.CreateInstance<SegmentCache>(sp);
            // The store keeps plain counters; mirror them into the registry at each scrape.
            var store = cache.Store;
            var registry = sp.GetRequiredService<Prometheus.CollectorRegistry>();
            var factory = sp.GetRequiredService<Prometheus.IMetricFactory>();
            var corrupt = factory.CreateCounter("openconnect_appliance_ssd_corrupt_dropped_total", "SSD objects dropped because their bytes or header failed verification.");
            var writeFailures = factory.CreateCounter("openconnect_appliance_ssd_write_failures_total", "SSD object writes that failed (disk full, I/O error).");
            var checkpointFailures = factory.CreateCounter("openconnect_appliance_ssd_checkpoint_failures_total", "SSD index checkpoints that failed.");
            var recovered = factory.CreateGauge("openconnect_appliance_ssd_recovered_objects", "Objects the SSD tier held after its last start (from the index or re-indexed from files).");
            recovered.Set(store.Recovery.Recovered + store.Recovery.Reindexed);
            registry.AddBeforeCollectCallback(() =>
            {
                corrupt.IncTo(store.CorruptObjectsDropped);
                writeFailures.IncTo(store.WriteFailures);
                checkpointFailures.IncTo(store.CheckpointFailures);
            });
            return cache;
        });
        services.AddSingleton<AccessGate>();
        services.AddSingleton<CacheInventory>();
        services.AddSingleton<ControlState>();
        services.AddSingleton<ControlPlaneClient>();
        services.AddHostedService(sp => sp.GetRequiredService<ControlPlaneClient>());
        services.AddSingleton<SegmentServer>();
        // Open the SSD tier (recovery) before Kestrel accepts the first connection.
        services.AddHostedService<CacheWarmup>();
        services.AddHostedService<OriginDiscovery>();
        services.AddSingleton<FillMetrics>();
        services.AddSingleton<FillAgent>();
        services.AddHostedService(sp => sp.GetRequiredService<FillAgent>());
        services.AddHealthChecks().AddCheck<SsdTierHealthCheck>("ssd-tier").AddCheck<ControlState.HealthCheck>("control-plane");
        services.AddGrpc();

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

            // Data endpoints (from `urls`) speak HTTP/1.1 through the segment server; the control
            // endpoint speaks HTTP/2 cleartext for gRPC. Binding explicitly is what lets the two differ.
            foreach (var url in ListenUrls.Parse(context.Configuration["urls"] ?? DefaultUrls))
            {
                ListenUrls.Listen(kestrel, url, listen =>
                {
                    listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1;
                    var server = listen.ApplicationServices.GetRequiredService<SegmentServer>();
                    listen.Use(next => connection => server.OnConnectionAsync(connection, next));
                    if (url.Scheme == Uri.UriSchemeHttps)
                    {
                        listen.UseHttps();
                    }
                });
            }

            if (Uri.TryCreate(appliance.ControlUrl, UriKind.Absolute, out var control))
            {
                ListenUrls.Listen(kestrel, control, listen => listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2);
            }
        });

        var app = builder.Build();
        app.MapRoleEndpoints();
        app.MapContent();
        app.MapGrpcService<PrefetchService>();
        app.MapDrain();
        return app;
    }

    private sealed class CacheWarmup(SegmentServer server) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            _ = server;
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class SsdTierHealthCheck(SsdStore store) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
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
