using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace OpenConnect.Hosting.Tests;

/// <summary>A minimal role on the kit: <c>/hello</c> on the data listener, <c>/control/ping</c> on the control listener.</summary>
internal static class KitRole
{
    public const string ControlPrefix = "/control";

    public static RoleListenerSpec Spec(bool withControl) => new()
    {
        DefaultUrls = "http://127.0.0.1:0",
        DefaultManagementUrl = "http://127.0.0.1:0",
        ControlUrl = withControl ? _ => "http://127.0.0.1:0" : null,
        ControlPaths = withControl ? [ControlPrefix] : [],
    };

    public static WebApplication Build(string[] args, RoleListenerSpec spec)
    {
        var builder = RoleHost.CreateBuilder("kit-test", spec.DefaultUrls, args);
        RoleListeners.Add(builder, spec);
        var app = builder.Build();
        app.MapRoleEndpoints();
        app.MapGet("/hello", () => Results.Text("hello"));
        app.MapGet(ControlPrefix + "/ping", () => Results.Text("pong"));
        return app;
    }
}
