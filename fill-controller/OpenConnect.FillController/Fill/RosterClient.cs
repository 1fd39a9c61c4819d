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
    private readonly FleetCredentials _credentials;
    private readonly string _url;
    private readonly object _gate = new();
    private (int Version, GrpcChannel Channel, ApplianceRoster.ApplianceRosterClient Client)? _connection;

    public RosterClient(IOptions<FillControllerOptions> options, FleetCredentials credentials)
    {
        _url = options.Value.Fill.SteeringControlUrl;
        _credentials = credentials;
    }

    /// <summary>The roster; an <see cref="InvalidOperationException"/> saying why when steering cannot be reached or refuses the call.</summary>
    public async Task<IReadOnlyList<RosterEntry>> ListAsync(CancellationToken cancellationToken)
    {
        RosterReply reply;
        try
        {
            reply = await Client().ListAsync(new RosterRequest(), deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken);
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

    public void Dispose()
    {
        lock (_gate)
        {
            _connection?.Channel.Dispose();
            _connection = null;
        }
    }

    /// <summary>The client on a channel presenting the current certificate (a renewal replaces the channel; calls on the old one get a minute to finish).</summary>
    private ApplianceRoster.ApplianceRosterClient Client()
    {
        lock (_gate)
        {
            var version = _credentials.Version;
            if (_connection is { } current && current.Version == version)
            {
                return current.Client;
            }

            if (_connection is { } previous)
            {
                // Calls in flight on the previous certificate's channel get a minute to finish.
                _ = Task.Delay(TimeSpan.FromMinutes(1)).ContinueWith(_ => previous.Channel.Dispose(), TaskScheduler.Default);
            }

            var channel = GrpcChannel.ForAddress(_url, new GrpcChannelOptions { HttpHandler = _credentials.CreateHandler(FleetIdentity.Steering) });
            _connection = (version, channel, new ApplianceRoster.ApplianceRosterClient(channel));
            return _connection.Value.Client;
        }
    }
}
