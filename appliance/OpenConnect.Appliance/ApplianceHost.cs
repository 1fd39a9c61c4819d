using Microsoft.Extensions.Options;
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
        builder.Services.AddRoleOptions<ApplianceOptions>(builder.Configuration);
        builder.Services.AddStateDirectory("cache-directory", sp => sp.GetRequiredService<IOptions<ApplianceOptions>>().Value.Cache.Directory);

        var app = builder.Build();
        app.MapRoleEndpoints();
        return app;
    }
}
