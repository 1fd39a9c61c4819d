using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Fill.V1;
using OpenConnect.Contracts.Fleet;
using OpenConnect.FillController.Fleet;

namespace OpenConnect.FillController.Fill;

/// <summary>
/// Reads the appliance roster from steering's control plane (gRPC <c>ApplianceRoster.List</c>) over
/// mutual TLS: the fill controller's fleet certificate, and steering must present
/// <c>openconnect://steering</c> from the fleet CA.
/// </summary>
public sealed class RosterClient : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly ApplianceRoster.ApplianceRosterClient _client;
    private readonly string _url;

    public RosterClient(IOptions<FillControllerOptions> options, FleetCredentials credentials)
    {
        _url = options.Value.Fill.SteeringControlUrl;
        _channel = GrpcChannel.ForAddress(_url, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                SslOptions = credentials.ClientOptions(FleetIdentity.Steering),
                ConnectTimeout = TimeSpan.FromSeconds(10),
            },
        });
        _client = new ApplianceRoster.ApplianceRosterClient(_channel);
    }

    /// <summary>The roster; an <see cref="InvalidOperationException"/> saying why when steering cannot be reached or refuses the call.</summary>
    public async Task<IReadOnlyList<RosterEntry>> ListAsync(CancellationToken cancellationToken)
    {
        RosterReply reply;
        try
        {
            reply = await _client.ListAsync(new RosterRequest(), deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken);
        }
        catch (RpcException ex) when (ex.StatusCode != StatusCode.Cancelled || !cancellationToken.IsCancellationRequested)
        {
            var detail = ex.Status.DebugException is { } inner ? $"{ex.Status.Detail} ({inner.GetBaseException().Message})" : ex.Status.Detail;
            throw new InvalidOperationException($"steering's roster at {_url} failed: {ex.StatusCode}: {detail}", ex);
        }

        return reply.Appliances
            .Select(a => new RosterEntry(a.ApplianceId, a.Site, a.PublicUrl, a.SsdBytes, DateTimeOffset.FromUnixTimeMilliseconds(a.LastHeartbeatUnixMs)))
            .ToList();
    }

    public void Dispose() => _channel.Dispose();
}
