using Microsoft.Extensions.Options;
using OpenConnect.Hosting;

namespace OpenConnect.Steering.Fleet;

public static class FleetServices
{
    /// <summary>The fleet CA, enrollment records, operator credential and enrollment service; loaded (and checked) when the host starts.</summary>
    public static IServiceCollection AddFleet(this IServiceCollection services)
    {
        services.AddSingleton<FleetState>();
        // On a reload: steering's own certificate is issued again for new names or when due, and the
        // CA files are checked (another CA needs a restart). The other Fleet settings need a restart.
        services.AddSingleton<IReloadable>(sp => sp.GetRequiredService<FleetState>().Certificate.Holder);
        services.AddSingleton<IReloadable>(sp =>
        {
            var fleet = sp.GetRequiredService<FleetState>();
            return new FleetAuthorityCheck(fleet.Authority, fleet.Directory);
        });
        services.AddLiveSettings($"{SteeringOptions.SectionName}:Fleet:ServerNames");
        services.AddSingleton<FleetEndpoint>();
        services.AddSingleton<ApplianceReports>();
        services.AddSingleton(sp => new OperatorCredential(sp.GetRequiredService<IOptions<SteeringOptions>>().Value.ResolvedOperatorTokenFile));
        services.AddHostedService<FleetStartup>();
        return services;
    }

    public static WebApplication MapFleet(this WebApplication app)
    {
        app.MapGrpcService<EnrollmentService>();
        app.MapFleetOperator();
        return app;
    }

    /// <summary>Loads the CA and the operator token before the listeners start, so a bad file stops the start with its reason.</summary>
    private sealed class FleetStartup(FleetState fleet, OperatorCredential operators, ILogger<FleetState> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            FleetLog.AuthorityLoaded(logger, fleet.Authority.Certificate.Subject, fleet.Directory, operators.TokenFile);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
