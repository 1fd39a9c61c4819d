using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Hosting;

namespace OpenConnect.Steering;

/// <summary>Builds the steering host (appliance control plane, client-to-site mapping, ranking and URL signing); used by <c>Program</c> and by in-process tests.</summary>
public static class SteeringHost
{
    public const string RoleName = "steering";
    public const string DefaultUrls = "http://127.0.0.1:8200";

    public static WebApplication Build(string[] args)
    {
        var builder = RoleHost.CreateBuilder(RoleName, DefaultUrls, args);
        builder.Services.AddRoleOptions<SteeringOptions>(builder.Configuration);
        builder.Services.AddStateDirectory("data-directory", sp => sp.GetRequiredService<IOptions<SteeringOptions>>().Value.DataDirectory);

        var app = builder.Build();
        app.MapRoleEndpoints();
        return app;
    }
}
