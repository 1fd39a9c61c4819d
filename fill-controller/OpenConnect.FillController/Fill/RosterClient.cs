using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Fill.V1;
using OpenConnect.Contracts.Fleet;
using OpenConnect.FillController.Fleet;

namespace OpenConnect.FillController.Fill;

/// <summary>
/// Reads the appliance roster from steering's control plane (gRPC <c>ApplianceRoster.List</c>) over
/// mutual TLS: the fill controller's fleet certificate (the current one: the channel is rebuilt
/// after a renewal), and steering must present <c>openconnect://steering</c> from the fleet CA.
/// </summary>
public sealed class RosterClient : IDisposable
{
    private readonly string _url;
    private readonly RenewingClient<ApplianceRoster.ApplianceRosterClient> _client;

    public RosterClient(IOptions<FillControllerOptions> options, FleetCredentials credentials)
    {
        _url = options.Value.Fill.SteeringControlUrl;
        _client = new(credentials, handler =>
        {
            var channel = GrpcChannel.ForAddress(_url, new GrpcChannelOptions { HttpHandler = handler });
            return (new ApplianceRoster.ApplianceRosterClient(channel), channel);
        });
    }

    /// <summary>The roster; an <see cref="InvalidOperationException"/> saying why when steering cannot be reached or refuses the call.</summary>
    public async Task<IReadOnlyList<RosterEntry>> ListAsync(CancellationToken cancellationToken)
    {
        RosterReply reply;
        try
        {
            reply = await _client.Get(FleetIdentity.Steering).ListAsync(new RosterRequest(), deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken);
        }
        catch (RpcException ex) when (ex.StatusCode != StatusCode.Cancelled || !cancellationToken.IsCancellationRequested)
        {
            var detail = ex.Status.DebugException is { } inner ? $"{ex.Status.Detail} ({inner.GetBaseException().Message})" : ex.Status.Detail;
            throw new InvalidOperationException($"steering's roster at {_url} failed: {ex.StatusCode}: {detail}", ex);
        }

        return reply.Appliances
            .Select(a => new RosterEntry(a.ApplianceId, a.Site, a.PublicUrl, a.SsdBytes, DateTimeOffset.FromUnixTimeMilliseconds(a.LastHeartbeatUnixMs), a.ParentUrl))
            .ToList();
    }

    public void Dispose() => _client.Dispose();
}
