using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using OpenConnect.Hosting;

namespace OpenConnect.Appliance.Serving.Epoll;

/// <summary>
/// The epoll transport (<c>Appliance:Serving:Transport=Epoll</c>), for the plaintext data listeners only.
/// Kestrel asks every transport factory whether it binds an endpoint (<see cref="CanBind"/>) with
/// nothing but the address, and the data, management and control listeners may share one (all on
/// <c>127.0.0.1:0</c> in tests). So the plaintext data listeners claim the transport themselves: their
/// connection middleware (<see cref="ForDataListeners"/>) is built by Kestrel right before it binds the
/// listener's endpoint, and the claim is taken by the next <see cref="CanBind"/>. Every other listener
/// (HTTPS data, parent, control, management) does not claim and falls through to Kestrel's socket
/// transport, registered before this one.
/// </summary>
public sealed class EpollTransportFactory : IConnectionListenerFactory, IConnectionListenerFactorySelector, IDisposable
{
    private readonly ILogger<EpollTransportFactory> _logger;
    private readonly IServiceProvider _services;
    private readonly LimitsOptions _limits;
    private readonly IReadOnlyList<ListenUrl> _dataUrls;
    private readonly Lock _lock = new();
    private EpollLoops? _loops;
    private int _dataListenersConfigured;
    private int _claimed;

    public EpollTransportFactory(IConfiguration configuration, IOptions<ApplianceOptions> options, IServiceProvider services, ILogger<EpollTransportFactory> logger)
    {
        _logger = logger;
        _services = services;
        _limits = options.Value.Limits;
        _dataUrls = ListenUrls.TryParse(configuration["urls"] ?? ApplianceHost.DefaultUrls).Urls;
    }

    /// <summary>Accepted sockets currently on the epoll loops: connections, and sockets waiting for their first bytes.</summary>
    public int Connections => _loops?.Count ?? 0;

    /// <summary>Accepted sockets that have sent nothing yet, so are not Kestrel connections yet.</summary>
    public int Waiting => _loops?.Waiting ?? 0;

    /// <summary>
    /// Wraps the data listeners' connection middleware: the kit configures one data listener per entry of
    /// <c>urls</c>, in order, so the n-th call belongs to the n-th URL; an <c>http://</c> one claims this
    /// transport each time Kestrel builds it for a bind.
    /// </summary>
    public static Func<IServiceProvider, Func<ConnectionDelegate, ConnectionDelegate>> ForDataListeners(Func<IServiceProvider, Func<ConnectionDelegate, ConnectionDelegate>> middleware) => services =>
    {
        var factory = services.GetRequiredService<EpollTransportFactory>();
        var inner = middleware(services);
        var index = Interlocked.Increment(ref factory._dataListenersConfigured) - 1;
        if (index >= factory._dataUrls.Count || factory._dataUrls[index].Scheme != Uri.UriSchemeHttp)
        {
            return inner;
        }

        return next =>
        {
            Volatile.Write(ref factory._claimed, 1);
            return inner(next);
        };
    };

    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint && Interlocked.Exchange(ref _claimed, 0) == 1;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        if (endpoint is not IPEndPoint ip)
        {
            throw new NotSupportedException($"the epoll transport binds IP endpoints only, not {endpoint}");
        }

        var loops = Loops();
        var admission = new EpollAdmission(_limits.MaxConnections, _services.GetRequiredService<SegmentServer>().PerClient);
        var listener = EpollListener.Bind(ip, loops, admission, _logger);
        EpollLog.Listening(_logger, listener.EndPoint, Environment.ProcessorCount);
        return ValueTask.FromResult<IConnectionListener>(listener);
    }

    private EpollLoops Loops()
    {
        lock (_lock)
        {
            return _loops ??= new EpollLoops(Environment.ProcessorCount, _limits.FirstRequestTimeout, _logger);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _loops?.Dispose();
        }
    }
}
