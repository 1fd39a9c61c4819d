using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Contracts.Steering.V1;
using OpenConnect.Hosting;

namespace OpenConnect.Origin.Publishing;

/// <summary>
/// Reports the origin's whole takedown list (<see cref="TitleTakedowns"/>) to every steering replica's
/// control listener (<c>Origin:Fleet:SteeringControlUrl</c> and <c>SteeringControlUrls</c>, mutual TLS
/// with the origin's fleet certificate; steering must present <c>openconnect://steering</c> from the
/// fleet CA), each replica in its own loop so one that is down delays none of the others: once at
/// start and after every change, retrying every <see cref="OriginFleetOptions.TakedownRetryInterval"/>
/// until that replica acknowledges, and again every <see cref="OriginFleetOptions.TakedownRefreshInterval"/>.
/// The full list each time makes a report idempotent and repairs a replica's copy after it lost its
/// state. Without a steering URL it does nothing (steering then learns of a title's removal only when
/// the origin answers 404 for it).
/// </summary>
public sealed partial class TakedownReporter : BackgroundService
{
    private readonly TitleTakedowns _takedowns;
    private readonly OriginFleetOptions _options;
    private readonly IServiceProvider _services;
    private readonly ILogger<TakedownReporter> _logger;
    private readonly SemaphoreSlim[] _changed;
    private long _reports;

    public TakedownReporter(TitleTakedowns takedowns, IOptions<OriginOptions> options, IServiceProvider services, ILogger<TakedownReporter> logger)
    {
        _takedowns = takedowns;
        _options = options.Value.Fleet;
        _services = services;
        _logger = logger;
        _changed = [.. _options.SteeringReplicas.Select(_ => new SemaphoreSlim(0, 1))];
        _takedowns.Changed += OnChanged;
    }

    /// <summary>Steering's takedown generation from the last report a replica acknowledged (0 before one).</summary>
    public ulong AcknowledgedGeneration { get; private set; }

    /// <summary>Reports the steering replicas acknowledged since start, all together.</summary>
    public long Reports => Interlocked.Read(ref _reports);

    public override void Dispose()
    {
        _takedowns.Changed -= OnChanged;
        foreach (var changed in _changed)
        {
            changed.Dispose();
        }

        base.Dispose();
    }

    private void OnChanged(string titleId)
    {
        foreach (var changed in _changed)
        {
            try
            {
                changed.Release();
            }
            catch (SemaphoreFullException)
            {
                // A wake-up is already pending; it reports the list as it is then.
            }
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_options.SteeringReplicas.Select((url, i) => ReportToAsync(url, _changed[i], stoppingToken)));

    private async Task ReportToAsync(string url, SemaphoreSlim changed, CancellationToken stoppingToken)
    {
        var credentials = _services.GetRequiredService<FleetTlsCredentials>();
        using var channel = GrpcChannel.ForAddress(url, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                SslOptions = credentials.ClientOptions(FleetIdentity.Steering),
                ConnectTimeout = TimeSpan.FromSeconds(5),
            },
        });
        var client = new ControlPlane.ControlPlaneClient(channel);
        var failing = false;
        var acknowledged = (ulong?)null;
        while (!stoppingToken.IsCancellationRequested)
        {
            var report = new TakedownReport();
            report.Takedowns.AddRange(_takedowns.List().Select(e => new Contracts.Steering.V1.Takedown { TitleId = e.TitleId, Reason = e.Reason, AtUnixMs = e.At.ToUnixTimeMilliseconds() }));
            try
            {
                var ack = await client.ReportTakedownsAsync(report, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: stoppingToken).ConfigureAwait(false);
                if (ack.Generation != acknowledged || failing)
                {
                    Reported(_logger, report.Takedowns.Count, url, ack.Generation);
                }

                acknowledged = ack.Generation;
                AcknowledgedGeneration = ack.Generation;
                Interlocked.Increment(ref _reports);
                failing = false;
            }
            catch (Exception ex) when (ex is RpcException or HttpRequestException && !stoppingToken.IsCancellationRequested)
            {
                if (!failing)
                {
                    ReportFailed(_logger, url, ex.Message);
                    failing = true;
                }
            }

            // A change wakes it at once; otherwise the list is reported again after a while (a failure
            // sooner), which repairs a steering that restarted without its state directory.
            try
            {
                await changed.WaitAsync(failing ? _options.TakedownRetryInterval : _options.TakedownRefreshInterval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    [LoggerMessage(EventId = 7311, Level = LogLevel.Information, Message = "Takedown list ({Count} titles) reported to steering at {Url}: generation {Generation}")]
    private static partial void Reported(ILogger logger, int count, string url, ulong generation);

    [LoggerMessage(EventId = 7312, Level = LogLevel.Warning, Message = "Could not report the takedown list to steering at {Url} (retrying): {Error}")]
    private static partial void ReportFailed(ILogger logger, string url, string error);
}
