using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Hosting;

namespace OpenConnect.Origin;

/// <summary>Builds the origin host (ingest, transcode, packaging, catalog and the parent endpoint appliances pull from); used by <c>Program</c> and by in-process tests.</summary>
public static class OriginHost
{
    public const string RoleName = "origin";
    public const string DefaultUrls = "http://127.0.0.1:8100";

    public static WebApplication Build(string[] args)
    {
        var builder = RoleHost.CreateBuilder(RoleName, DefaultUrls, args);
        builder.Services.AddRoleOptions<OriginOptions>(builder.Configuration);
        builder.Services.AddStateDirectory("data-directory", sp => sp.GetRequiredService<IOptions<OriginOptions>>().Value.DataDirectory);

        var app = builder.Build();
        app.MapRoleEndpoints();
        return app;
    }
}
