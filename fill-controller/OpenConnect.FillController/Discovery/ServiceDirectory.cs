using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OpenConnect.Hosting.Discovery;

namespace OpenConnect.FillController.Discovery;

/// <summary>
/// The fill controller's view of where steering and the origin are: resolved through DNS SRV when
/// configured (falling back to the static URLs), again every <c>FillController:ResolveInterval</c>.
/// Reported in <c>/healthz</c>.
/// </summary>
public sealed class ServiceDirectory : BackgroundService
{
    private readonly FillControllerOptions _options;
    private readonly SrvLocator _steering;
    private readonly SrvLocator _origin;
    private readonly TimeProvider _time;
    private readonly TaskCompletionSource _resolved = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ServiceDirectory(IOptions<FillControllerOptions> options, TimeProvider time)
    {
        _options = options.Value;
        _time = time;
        var timeout = TimeSpan.FromSeconds(2);
        _steering = new SrvLocator(_options.Steering.SrvName, _options.Steering.DnsServer, _options.Steering.Url, timeout);
        _origin = new SrvLocator(_options.Origin.SrvName, _options.Origin.DnsServer, _options.Origin.Url, timeout);
    }

    public Uri? Steering { get; private set; }

    public Uri? Origin { get; private set; }

    /// <summary>Completes after the first resolution.</summary>
    public Task Resolved => _resolved.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                Steering = (await _steering.ResolveAsync(stoppingToken).ConfigureAwait(false)).Url;
                Origin = (await _origin.ResolveAsync(stoppingToken).ConfigureAwait(false)).Url;
            }
            catch (OperationCanceledException)
            {
                break;
            }

            _resolved.TrySetResult();
            try
            {
                await Task.Delay(_options.ResolveInterval, _time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>Reports the resolved endpoints in <c>/healthz</c>.</summary>
    public sealed class HealthCheck(ServiceDirectory directory) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var data = new Dictionary<string, object>
            {
                ["steering"] = directory.Steering?.ToString() ?? "",
                ["origin"] = directory.Origin?.ToString() ?? "",
            };
            return Task.FromResult(HealthCheckResult.Healthy("service endpoints", data));
        }
    }
}
