using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using OpenConnect.Hosting;

namespace OpenConnect.Testing;

/// <summary>
/// A role host started in-process on <c>127.0.0.1:0</c>: the real Kestrel server on a real socket,
/// with the port the kernel picked read back from the server; the management listener likewise on
/// <c>127.0.0.1:0</c>.
/// </summary>
public sealed class RunningRole : IAsyncDisposable
{
    private RunningRole(WebApplication app, Uri baseAddress)
    {
        App = app;
        BaseAddress = baseAddress;
    }

    public WebApplication App { get; }

    public Uri BaseAddress { get; }

    public IServiceProvider Services => App.Services;

    /// <summary>Builds the role with <paramref name="build"/> (e.g. <c>ApplianceHost.Build</c>) and starts it.</summary>
    /// <param name="build">The role's host factory.</param>
    /// <param name="settings">Extra command-line settings, e.g. <c>--Appliance:Cache:Directory=/tmp/x</c> (later ones win).</param>
    public static async Task<RunningRole> StartAsync(Func<string[], WebApplication> build, params string[] settings)
    {
        string[] args = ["--urls", "http://127.0.0.1:0", "--Management:Url=http://127.0.0.1:0", .. settings];
        var app = build(args);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        return new RunningRole(app, new Uri(addresses.First()));
    }

    /// <summary>The bound management listener (<c>/healthz</c>, <c>/metrics</c>).</summary>
    public Uri ManagementAddress => Services.GetRequiredService<RoleListeners>().ManagementAddress;

    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>A client for the management listener.</summary>
    public HttpClient CreateManagementClient() => new() { BaseAddress = ManagementAddress, Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>GET on the management listener (e.g. <c>/healthz</c>).</summary>
    public async Task<HttpResponseMessage> GetManagementAsync(string path)
    {
        using var client = CreateManagementClient();
        return await client.GetAsync(path);
    }

    /// <summary>The role's <c>/metrics</c> text, from the management listener.</summary>
    public async Task<string> MetricsTextAsync()
    {
        using var client = CreateManagementClient();
        return await client.GetStringAsync("/metrics");
    }

    /// <summary>The role's <c>/metrics</c>, parsed.</summary>
    public async Task<PrometheusText.Document> MetricsAsync() => PrometheusText.Parse(await MetricsTextAsync());

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
