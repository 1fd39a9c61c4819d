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
/// after a renewal), and steering must present <c>openconnect://steering</c> from the fleet CA. With
/// several steering replicas (<c>Fill:SteeringControlUrls</c>) the first that answers gives it: each
/// rebuilds the same roster from the appliances' heartbeats.
/// </summary>
public sealed class RosterClient : IDisposable
{
    private readonly (string Url, RenewingClient<ApplianceRoster.ApplianceRosterClient> Client)[] _replicas;

    public RosterClient(IOptions<FillControllerOptions> options, FleetCredentials credentials)
    {
        _replicas = [.. options.Value.Fill.SteeringReplicas.Select(url => (url, new RenewingClient<ApplianceRoster.ApplianceRosterClient>(credentials, handler =>
        {
            var channel = GrpcChannel.ForAddress(url, new GrpcChannelOptions { HttpHandler = handler });
            return (new ApplianceRoster.ApplianceRosterClient(channel), channel);
        })))];
    }

    /// <summary>The roster; an <see cref="InvalidOperationException"/> saying why when no replica can be reached or each refuses the call.</summary>
    public async Task<IReadOnlyList<RosterEntry>> ListAsync(CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        foreach (var (url, client) in _replicas)
        {
            RosterReply reply;
            try
            {
                reply = await client.Get(FleetIdentity.Steering).ListAsync(new RosterRequest(), deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken);
            }
            catch (RpcException ex) when (ex.StatusCode != StatusCode.Cancelled || !cancellationToken.IsCancellationRequested)
            {
                var detail = ex.Status.DebugException is { } inner ? $"{ex.Status.Detail} ({inner.GetBaseException().Message})" : ex.Status.Detail;
                failures.Add($"steering's roster at {url} failed: {ex.StatusCode}: {detail}");
                continue;
            }

            return reply.Appliances
                .Select(a => new RosterEntry(a.ApplianceId, a.Site, a.PublicUrl, a.SsdBytes, DateTimeOffset.FromUnixTimeMilliseconds(a.LastHeartbeatUnixMs), a.ParentUrl))
                .ToList();
        }

        throw new InvalidOperationException(string.Join("; ", failures));
    }

    public void Dispose()
    {
        foreach (var (_, client) in _replicas)
        {
            client.Dispose();
        }
    }
}
