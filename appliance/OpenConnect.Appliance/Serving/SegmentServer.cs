using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Options;
using OpenConnect.Appliance.Caching;
using OpenConnect.Appliance.Control;
using OpenConnect.Appliance.Http;

namespace OpenConnect.Appliance.Serving;

/// <summary>
/// The segment server: a Kestrel connection middleware that speaks HTTP/1.1 itself for content
/// paths (<c>/s/{token}/v/…</c> and, from trusted networks, <c>/v/…</c>; see <see cref="AccessGate"/>)
/// and CORS preflights. Split like Kestrel's socket transport: this class accepts connections and
/// holds what they share (cache, options, the epoll thread); <see cref="SegmentConnection"/> runs one
/// connection's request loop; <see cref="ZeroCopySender"/> writes its responses straight to the socket
/// (hits with sendfile(2) from the object file or RAM memfd, misses cut-through from the single upstream
/// fetch). The first request for any other path hands the connection to Kestrel's own HTTP pipeline
/// (<c>/healthz</c>, <c>/metrics</c>), which keeps it from then on.
/// </summary>
public sealed class SegmentServer : IDisposable
{
    private readonly SegmentCache _cache;
    private readonly ApplianceOptions _options;
    private readonly ApplianceMetrics _metrics;
    private readonly HttpDate _date;
    private readonly CorsPolicy _cors;
    private readonly ILogger<SegmentServer> _logger;
    private readonly AccessGate _gate;
    private readonly ControlState _control;
    private readonly WriteReadiness _readiness = new();
    private readonly ClientConnections _perClient;

    public SegmentServer(SegmentCache cache, IOptions<ApplianceOptions> options, ApplianceMetrics metrics, HttpDate date, CorsPolicy cors, AccessGate gate, ControlState control, AccessLog accessLog, Fill.RenditionRequestCounter demand, ILogger<SegmentServer> logger)
    {
        AccessLog = accessLog;
        Demand = demand;
        _gate = gate;
        _control = control;
        _cache = cache;
        _options = options.Value;
        _metrics = metrics;
        _date = date;
        _cors = cors;
        _logger = logger;
        _perClient = new ClientConnections(_options.Limits.MaxConnectionsPerClient);
    }

    public async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var socket = connection.Features.Get<IConnectionSocketFeature>()?.Socket;
        if (socket is null)
        {
            await next(connection).ConfigureAwait(false);
            return;
        }

        var client = (socket.RemoteEndPoint as System.Net.IPEndPoint)?.Address;
        var state = new SegmentConnection(this, connection, socket);
        if (client is not null && !_perClient.TryOpen(client))
        {
            _metrics.ConnectionsRefused.Inc();
            await RefuseAsync(state, connection).ConfigureAwait(false);
            return;
        }

        _metrics.ConnectionsOpen.Inc();
        try
        {
            if (_options.Limits.SendBufferBytes > 0)
            {
                socket.SendBufferSize = _options.Limits.SendBufferBytes;
            }

            if (await state.RunAsync().ConfigureAwait(false))
            {
                state.Unregister();
                await next(connection).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or ConnectionResetException)
        {
            // The client went away or was cut off; nothing to answer.
        }
        catch (Exception ex)
        {
            ServingLog.ConnectionFailed(_logger, connection.ConnectionId, ex);
        }
        finally
        {
            state.Unregister();
            _metrics.ConnectionsOpen.Dec();
            if (client is not null)
            {
                _perClient.Close(client);
            }
        }
    }

    /// <summary>A connection over its address's cap: 503 and close, without reading a request.</summary>
    private async Task RefuseAsync(SegmentConnection state, ConnectionContext connection)
    {
        try
        {
            await state.RefuseAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // Gone already.
        }
        finally
        {
            state.Unregister();
        }
    }

    internal SegmentCache Cache => _cache;

    internal ApplianceOptions Options => _options;

    internal ApplianceMetrics Metrics => _metrics;

    internal HttpDate Date => _date;

    internal CorsPolicy Cors => _cors;

    internal AccessGate Gate => _gate;

    internal ControlState Control => _control;

    internal ILogger Logger => _logger;

    internal WriteReadiness Readiness => _readiness;

    /// <summary>Open connections per client address; the epoll transport counts its waiting sockets here too.</summary>
    internal ClientConnections PerClient => _perClient;

    internal AccessLog AccessLog { get; }

    /// <summary>Requests per (title, rendition), reported by the fill agent.</summary>
    internal Fill.RenditionRequestCounter Demand { get; }

    public void Dispose() => _readiness.Dispose();
}
