using Grpc.Core;
using Microsoft.Extensions.Options;
using OpenConnect.Contracts.Fleet;

namespace OpenConnect.FillController.Fill;

/// <summary>
/// Admits an appliance certificate to fill orders only while steering's roster lists that id in
/// that site: an appliance the operator removed (its enrollment revoked) is refused at most
/// <c>FillController:Fill:RosterRefreshInterval</c> after steering dropped it. The roster is read
/// again when the copy is older than that, and at most once a second for an id the copy lacks (an
/// appliance that registered since). While steering cannot be read the last copy stands; with none
/// yet the call fails Unavailable. Ages are measured on the monotonic clock, not the scheduling
/// clock (<see cref="TimeProvider"/>), which tests move by hours.
/// </summary>
public sealed partial class RosterAdmission(RosterClient roster, IOptions<FillControllerOptions> options, ILogger<RosterAdmission> logger)
{
    private static readonly TimeSpan MissRefresh = TimeSpan.FromSeconds(1);

    private readonly SemaphoreSlim _refresh = new(1, 1);
    private Snapshot? _snapshot;
    private long _lastAttempt;

    /// <summary>Null when steering lists <paramref name="appliance"/> (id and site); otherwise why it is refused.</summary>
    public async Task<string?> RefusalAsync(FleetIdentity appliance, CancellationToken cancellationToken)
    {
        var snapshot = Volatile.Read(ref _snapshot);
        if (snapshot is null || Age(snapshot.ReadAt) > options.Value.Fill.RosterRefreshInterval)
        {
            snapshot = await RefreshAsync(snapshot, cancellationToken).ConfigureAwait(false);
        }

        if (snapshot.Sites.TryGetValue(appliance.Name, out var site) && site == appliance.Site)
        {
            return null;
        }

        if (Age(snapshot.ReadAt) >= MissRefresh)
        {
            snapshot = await RefreshAsync(snapshot, cancellationToken).ConfigureAwait(false);
            if (snapshot.Sites.TryGetValue(appliance.Name, out site) && site == appliance.Site)
            {
                return null;
            }
        }

        return site is null
            ? $"steering's roster does not list appliance '{appliance.Name}' ({appliance}): removed, revoked or not registered"
            : $"steering's roster lists appliance '{appliance.Name}' in site '{site}', not in '{appliance.Site}' as its certificate says";
    }

    private static TimeSpan Age(long readAt) => TimeSpan.FromMilliseconds(Environment.TickCount64 - readAt);

    private async Task<Snapshot> RefreshAsync(Snapshot? seen, CancellationToken cancellationToken)
    {
        await _refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var current = Volatile.Read(ref _snapshot);
            if (current is not null && !ReferenceEquals(current, seen))
            {
                // Another call read the roster while this one waited.
                return current;
            }

            if (current is not null && Age(Interlocked.Read(ref _lastAttempt)) < MissRefresh)
            {
                return current;
            }

            Interlocked.Exchange(ref _lastAttempt, Environment.TickCount64);
            try
            {
                var entries = await roster.ListAsync(cancellationToken).ConfigureAwait(false);
                var sites = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var entry in entries)
                {
                    sites[entry.ApplianceId] = entry.Site;
                }

                var fresh = new Snapshot(sites, Environment.TickCount64);
                Volatile.Write(ref _snapshot, fresh);
                return fresh;
            }
            catch (InvalidOperationException ex)
            {
                if (current is null)
                {
                    throw new RpcException(new Status(StatusCode.Unavailable, $"the fill controller cannot check its callers yet: {ex.Message}"));
                }

                RosterStale(logger, Age(current.ReadAt), ex.Message);
                return current;
            }
        }
        finally
        {
            _refresh.Release();
        }
    }

    [LoggerMessage(EventId = 310, Level = LogLevel.Warning, Message = "Steering's roster could not be read; admitting appliances by the copy read {Age} ago: {Reason}")]
    private static partial void RosterStale(ILogger logger, TimeSpan age, string reason);

    private sealed record Snapshot(Dictionary<string, string> Sites, long ReadAt);
}
