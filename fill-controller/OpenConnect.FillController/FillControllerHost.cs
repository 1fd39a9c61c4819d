using Microsoft.Extensions.Options;
using OpenConnect.FillController.Discovery;
using OpenConnect.FillController.Fill;
using OpenConnect.FillController.Fleet;
using OpenConnect.FillController.State;
using OpenConnect.Hosting;

namespace OpenConnect.FillController;

/// <summary>Builds the fill-controller host (popularity forecast, placement and nightly fill orders); used by <c>Program</c> and by in-process tests.</summary>
public static class FillControllerHost
{
    public const string RoleName = "fill-controller";
    public const string DefaultUrls = "http://127.0.0.1:8300";
    public const string DefaultManagementUrl = "http://127.0.0.1:9300";

    public static WebApplication Build(string[] args) => Build(args, _ => { });

    /// <summary>Builds the host, letting <paramref name="configureServices"/> replace services last (tests: a fake <see cref="TimeProvider"/>).</summary>
    public static WebApplication Build(string[] args, Action<IServiceCollection> configureServices)
    {
        var builder = RoleHost.CreateBuilder(RoleName, DefaultUrls, args);
        builder.Services.AddRoleOptions<FillControllerOptions>(builder.Configuration);
        builder.Services.AddStateDirectory("data-directory", sp => sp.GetRequiredService<IOptions<FillControllerOptions>>().Value.DataDirectory);
        // The stores open (and migrate) when the host starts, as the hosted services that use them are
        // built: an unreachable database stops the start naming where it was looked for, and a
        // config check (which builds but does not start the host) touches no database.
        builder.Services.AddSingleton(sp => StateDatabase.Create(sp.GetRequiredService<IOptions<FillControllerOptions>>().Value));
        builder.Services.AddSingleton<ServiceDirectory>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ServiceDirectory>());
        builder.Services.AddHealthChecks().AddCheck<ServiceDirectory.HealthCheck>("services");
        builder.Services.AddPopularityAndPlacement();
        AddFill(builder);

        configureServices(builder.Services);
        var app = builder.Build();
        // Credentials load now, so a missing or unusable file stops the start with its setting named.
        app.Services.GetRequiredService<FleetCredentials>();
        app.MapRoleEndpoints();
        app.UseMiddleware<FillGate>();
        app.MapGrpcService<FillOrdersService>();
        app.MapFill();
        return app;
    }

    /// <summary>Fill protocol: fleet certificate and its renewal, state store, roster, coordinator, window scheduler, gRPC and operator endpoints on the control listener.</summary>
    private static void AddFill(WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<FillStore>();
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<FillControllerOptions>>().Value;
            return FleetCredentials.Load(
                options.Fleet.ResolvedCertificateFile(options.DataDirectory),
                options.Fleet.ResolvedKeyFile(options.DataDirectory),
                options.Fleet.ResolvedCaCertificateFile(options.DataDirectory));
        });
        // On a reload the files are read again: the control listener serves a renewed pair from the
        // next handshake on and the clients to steering and appliances rebuild on its new version.
        services.AddSingleton<IReloadable>(sp => new FleetCredentialsReload(
            $"fleet certificate ({FillControllerOptions.SectionName}:Fleet)",
            () => sp.GetRequiredService<FleetCredentials>().Tls));
        services.AddSingleton<CertificateRenewal>();
        services.AddHostedService(sp => sp.GetRequiredService<CertificateRenewal>());
        services.AddSingleton<RosterClient>();
        services.AddSingleton<RosterAdmission>();
        services.AddSingleton<FillCoordinator>();
        services.AddSingleton<FillControlEndpoint>();
        services.AddSingleton<PlannerLease>();
        services.AddSingleton<WindowScheduler>();
        services.AddHostedService(sp => sp.GetRequiredService<WindowScheduler>());
        services.AddGrpc();
        // The data listener (`urls`) serves nothing of the fill protocol; fill orders and the operator
        // endpoints on the control listener (HTTP/2, mutual TLS with fleet certificates); health and
        // metrics on the management listener.
        RoleListeners.Add(builder, new RoleListenerSpec
        {
            DefaultUrls = DefaultUrls,
            DefaultManagementUrl = DefaultManagementUrl,
            ControlUrl = configuration => configuration[$"{FillControllerOptions.SectionName}:Fill:ControlUrl"] ?? new FillOptions().ControlUrl,
            // Fill orders (manifests, progress) and the operator endpoints answer only on the control
            // listener, which serves nothing else.
            ControlPaths = ["/" + Contracts.Fill.V1.FillOrders.Descriptor.FullName, FillGate.OperatorPath],
            ControlTls = listen => listen.UseFillControlTls(),
        });
    }
}
