using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Fill.V1;

namespace OpenConnect.FillController.Fill;

/// <summary>Reads the appliance roster from steering's control plane (gRPC <c>ApplianceRoster.List</c>).</summary>
public sealed class RosterClient : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly ApplianceRoster.ApplianceRosterClient _client;

    public RosterClient(IOptions<FillControllerOptions> options)
    {
        _channel = GrpcChannel.ForAddress(options.Value.Fill.SteeringControlUrl);
        _client = new ApplianceRoster.ApplianceRosterClient(_channel);
    }

    public async Task<IReadOnlyList<RosterEntry>> ListAsync(CancellationToken cancellationToken)
    {
        var reply = await _client.ListAsync(new RosterRequest(), deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken);
        return reply.Appliances
            .Select(a => new RosterEntry(a.ApplianceId, a.Site, a.PublicUrl, a.SsdBytes, DateTimeOffset.FromUnixTimeMilliseconds(a.LastHeartbeatUnixMs)))
            .ToList();
    }

    public void Dispose() => _channel.Dispose();
}
