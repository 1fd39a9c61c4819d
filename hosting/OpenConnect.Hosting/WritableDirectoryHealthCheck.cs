using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace OpenConnect.Hosting;

/// <summary>Healthy while a state directory exists and a small file can be written and removed in it.</summary>
public sealed class WritableDirectoryHealthCheck : IHealthCheck
{
    private readonly Func<string> _directory;

    public WritableDirectoryHealthCheck(Func<string> directory) => _directory = directory;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var directory = _directory();
        var probe = Path.Combine(directory, $".healthz-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var data = new Dictionary<string, object> { ["directory"] = directory };
        try
        {
            await File.WriteAllBytesAsync(probe, [1], cancellationToken);
            File.Delete(probe);
            return HealthCheckResult.Healthy("state directory writable", data);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"state directory not writable: {ex.Message}", ex, data);
        }
    }
}
