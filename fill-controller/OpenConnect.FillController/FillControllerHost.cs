using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Hosting;
using OpenConnect.FillController.Discovery;

namespace OpenConnect.FillController;

/// <summary>Builds the fill-controller host (popularity forecast, placement and nightly fill orders); used by <c>Program</c> and by in-process tests.</summary>
public static class FillControllerHost
{
    public const string RoleName = "fill-controller";
    public const string DefaultUrls = "http://127.0.0.1:8300";

    public static WebApplication Build(string[] args)
    {
        var builder = RoleHost.CreateBuilder(RoleName, DefaultUrls, args);
        builder.Services.AddRoleOptions<FillControllerOptions>(builder.Configuration);
        builder.Services.AddStateDirectory("data-directory", sp => sp.GetRequiredService<IOptions<FillControllerOptions>>().Value.DataDirectory);
        builder.Services.AddSingleton<ServiceDirectory>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ServiceDirectory>());
        builder.Services.AddHealthChecks().AddCheck<ServiceDirectory.HealthCheck>("services");
        builder.Services.AddPopularityAndPlacement();

        var app = builder.Build();
        app.MapRoleEndpoints();
        return app;
    }
}
