using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace OpenConnect.Hosting;

public static class StateDirectory
{
    /// <summary>
    /// Creates a role's state directory when the host starts (after options validation; a failure
    /// stops the start) and reports it in <c>/healthz</c> as the named check.
    /// </summary>
    /// <param name="services">The role's services.</param>
    /// <param name="checkName">The /healthz check name.</param>
    /// <param name="directory">Resolves the directory from the validated options.</param>
    /// <param name="failureStatus">What an unwritable directory means for the role (default: unhealthy).</param>
    public static IServiceCollection AddStateDirectory(this IServiceCollection services, string checkName, Func<IServiceProvider, string> directory, HealthStatus failureStatus = HealthStatus.Unhealthy)
    {
        services.AddHostedService(sp => new Initializer(directory(sp)));
        services.AddHealthChecks().Add(new HealthCheckRegistration(
            checkName,
            sp => new WritableDirectoryHealthCheck(() => directory(sp)),
            failureStatus: failureStatus,
            tags: null));
        return services;
    }

    private sealed class Initializer(string directory) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            try
            {
                Directory.CreateDirectory(directory);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new InvalidOperationException($"state directory '{directory}' cannot be created: {ex.Message}", ex);
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
