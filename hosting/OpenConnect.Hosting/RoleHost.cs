using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenConnect.Hosting.Systemd;
using OpenConnect.Hosting.Tracing;
using Prometheus;

namespace OpenConnect.Hosting;

/// <summary>
/// The operational contract every role honours: standard .NET configuration plus an optional
/// <c>--config file.json</c>, single-line structured console logs (journald's format under systemd),
/// <c>/healthz</c>, a Prometheus <c>/metrics</c> endpoint backed by a per-host registry, readiness
/// on <c>NOTIFY_SOCKET</c> (<see cref="Systemd.ServiceManager"/>), <c>--version</c>, and a start that
/// fails fast with a readable message and exit code 2 on a bad setting.
/// </summary>
public static class RoleHost
{
    public const int StartupFailureExitCode = 2;

    public const string HealthPath = "/healthz";

    public const string MetricsPath = "/metrics";

    /// <param name="role">The role name, used in logs, health and metrics.</param>
    /// <param name="defaultUrls">Where the role listens unless <c>--urls</c> or <c>ASPNETCORE_URLS</c> says otherwise.</param>
    /// <param name="args">The process arguments.</param>
    public static WebApplicationBuilder CreateBuilder(string role, string defaultUrls, string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args });
        // Lowest-precedence defaults: quiet framework logs; any configuration source overrides them.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                ["urls"] = defaultUrls,
                ["Logging:LogLevel:Default"] = "Information",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
                ["Logging:LogLevel:Grpc"] = "Warning",
                // A failed start is reported once, as one line on stderr, by RunRoleAsync.
                ["Logging:LogLevel:Microsoft.Extensions.Hosting.Internal.Host"] = "Critical",
            },
        });
        AddConfigFile(builder);

        builder.Logging.ClearProviders();
        var formatter = builder.Configuration["Logging:Console:FormatterName"];
        if (string.Equals(formatter, "json", StringComparison.OrdinalIgnoreCase))
        {
            builder.Logging.AddJsonConsole(o => o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ");
        }
        else if (string.Equals(formatter, "systemd", StringComparison.OrdinalIgnoreCase)
            || (string.IsNullOrEmpty(formatter) && ServiceManager.LogsToJournal()))
        {
            // journald stamps the time and reads the level from the <N> syslog prefix of each line.
            builder.Logging.AddSystemdConsole();
            builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
                o.UseUtcTimestamp = true;
            });
        }

        // One registry per host: several roles (or several appliances) may share a process in tests.
        var registry = Metrics.NewCustomRegistry();
        DotNetStats.Register(registry);
        Metrics.WithCustomRegistry(registry)
            .CreateGauge("openconnect_build_info", "Constant 1, labelled with the role and version of this process.", "role", "version")
            .WithLabels(role, RoleVersion.Current)
            .Set(1);
        builder.Services.AddSingleton(registry);
        builder.Services.AddSingleton<IMetricFactory>(Metrics.WithCustomRegistry(registry));
        builder.Services.AddSingleton(new RoleInfo(role));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddHealthChecks();
        builder.Services.AddServiceManager();
        builder.Services.AddLiveSettings("Logging:LogLevel");
        builder.AddRoleTracing(role);
        return builder;
    }

    /// <summary>
    /// Maps <c>/healthz</c> (200 when healthy or degraded, 503 when unhealthy) and <c>/metrics</c>, served
    /// on the management listener only (<see cref="RoleListeners"/>), and keeps the listeners' paths apart.
    /// </summary>
    public static WebApplication MapRoleEndpoints(this WebApplication app)
    {
        app.UseRoleListeners();
        app.UseHttpMetrics(o => o.SetMetricFactory(app.Services.GetRequiredService<IMetricFactory>()));
        app.MapHealthChecks(HealthPath, new HealthCheckOptions
        {
            ResponseWriter = WriteHealthAsync,
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });
        app.MapMetrics(MetricsPath, app.Services.GetRequiredService<CollectorRegistry>());
        return app;
    }

    /// <summary>
    /// Builds and starts a role, then waits for shutdown; <c>--version</c> prints
    /// <c>openconnect-{role} {version}</c> and exits 0 without building anything. A failure to build or start (invalid
    /// setting, missing config file, port in use, unusable directory) is reported on stderr as one
    /// line and yields exit code 2.
    /// </summary>
    public static async Task<int> RunRoleAsync(string role, Func<string[], WebApplication> build, string[] args)
    {
        if (RoleVersion.IsRequested(args))
        {
            await Console.Out.WriteLineAsync(RoleVersion.Line(role));
            return 0;
        }

        WebApplication? app = null;
        try
        {
            app = build(args);
            await app.StartAsync();
        }
        catch (Exception ex)
        {
            await Console.Error.WriteLineAsync($"{role}: cannot start: {DescribeStartupFailure(ex)}");
            if (app is not null)
            {
                await app.DisposeAsync();
            }

            return StartupFailureExitCode;
        }

        await app.WaitForShutdownAsync();
        await app.DisposeAsync();
        return 0;
    }

    public static string DescribeStartupFailure(Exception ex) => ex switch
    {
        OptionsValidationException ove => string.Join("; ", ove.Failures),
        AggregateException { InnerExceptions.Count: 1 } ae => DescribeStartupFailure(ae.InnerExceptions[0]),
        _ => ex.Message,
    };

    private static void AddConfigFile(WebApplicationBuilder builder)
    {
        // --config /etc/openconnect/appliance.json: one operator file, overridden by environment
        // variables and the command line, which stay last in precedence.
        var path = builder.Configuration["config"];
        if (string.IsNullOrEmpty(path))
        {
            return;
        }

        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new FileNotFoundException($"config file '{full}' (from --config) does not exist", full);
        }

        builder.Configuration.Sources.Insert(IndexOfFirstOverride(builder.Configuration), new Microsoft.Extensions.Configuration.Json.JsonConfigurationSource
        {
            Path = Path.GetFileName(full),
            FileProvider = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(Path.GetDirectoryName(full)!),
            Optional = false,
            ReloadOnChange = false,
        });
    }

    private static int IndexOfFirstOverride(IConfigurationBuilder configuration)
    {
        var sources = configuration.Sources;
        for (var i = 0; i < sources.Count; i++)
        {
            if (sources[i] is Microsoft.Extensions.Configuration.EnvironmentVariables.EnvironmentVariablesConfigurationSource
                or Microsoft.Extensions.Configuration.CommandLine.CommandLineConfigurationSource)
            {
                return i;
            }
        }

        return sources.Count;
    }

    private static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var role = context.RequestServices.GetRequiredService<RoleInfo>().Name;
        var checks = new Dictionary<string, object?>();
        foreach (var (name, entry) in report.Entries)
        {
            checks[name] = new { status = entry.Status.ToString(), description = entry.Description, data = entry.Data };
        }

        return JsonSerializer.SerializeAsync(context.Response.Body, new { role, status = report.Status.ToString(), checks }, cancellationToken: context.RequestAborted);
    }
}

/// <summary>Which role this process is, for logs, health and metrics.</summary>
public sealed record RoleInfo(string Name);
