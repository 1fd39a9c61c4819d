using Microsoft.Extensions.Options;
using OpenConnect.Hosting.Discovery;

namespace OpenConnect.Appliance.Upstream;

/// <summary>
/// Finds the origin through DNS SRV (<c>Appliance:Upstream:OriginSrvName</c>) and keeps it as the
/// last parent of <see cref="ParentFetcher"/>, resolving again at the configured interval. While a
/// lookup fails the last answer is kept: a DNS outage must not cut the appliance off its origin.
/// </summary>
public sealed partial class OriginDiscovery : BackgroundService
{
    private readonly ParentFetcher _parents;
    private readonly UpstreamOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<OriginDiscovery> _logger;

    public OriginDiscovery(ParentFetcher parents, IOptions<ApplianceOptions> options, TimeProvider time, ILogger<OriginDiscovery> logger)
    {
        _parents = parents;
        _options = options.Value.Upstream;
        _time = time;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_options.OriginSrvName.Length == 0)
        {
            return;
        }

        var locator = new SrvLocator(_options.OriginSrvName, _options.OriginDnsServer, "", _options.ConnectTimeout);
        Uri? current = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            var (url, fromSrv) = await locator.ResolveAsync(stoppingToken).ConfigureAwait(false);
            if (fromSrv && url is not null && url != current)
            {
                current = url;
                _parents.SetDiscoveredOrigin(url);
                Log.OriginFound(_logger, _options.OriginSrvName, url);
            }
            else if (!fromSrv)
            {
                Log.LookupFailed(_logger, _options.OriginSrvName, current?.ToString() ?? "none");
            }

            // Retry a failed first lookup soon; otherwise follow the configured interval.
            var wait = current is null ? TimeSpan.FromSeconds(1) : _options.OriginResolveInterval;
            try
            {
                await Task.Delay(wait, _time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 70, Level = LogLevel.Information, Message = "Origin found through SRV {SrvName}: {Url}")]
        public static partial void OriginFound(ILogger logger, string srvName, Uri url);

        [LoggerMessage(EventId = 71, Level = LogLevel.Warning, Message = "SRV lookup of {SrvName} gave no origin; keeping {Current}")]
        public static partial void LookupFailed(ILogger logger, string srvName, string current);
    }
}
