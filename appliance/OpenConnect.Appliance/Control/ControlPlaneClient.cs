using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using OpenConnect.Appliance.Caching;
using OpenConnect.Appliance.Identity;
using OpenConnect.Contracts.Security;
using OpenConnect.Contracts.Steering.V1;
using OpenConnect.Hosting;
using OpenConnect.Hosting.Discovery;

namespace OpenConnect.Appliance.Control;

/// <summary>
/// Keeps steering informed: one <see cref="SteeringSession"/> per steering replica registers on start
/// (and whenever its replica answers that it does not know this instance), then heartbeats with load,
/// health and inventory changes. The replicas are every target of the DNS SRV name when
/// <c>Appliance:Steering:SrvName</c> is set and resolves (re-resolved periodically; sessions start and
/// stop as targets come and go), else <c>Appliance:Steering:Url</c> and <c>Urls</c>. Sessions run
/// independently: a dead replica is retried every interval without slowing the others. Any replica's
/// success refreshes <see cref="ControlState"/>; after <c>LostAfter</c> without one from any replica the
/// appliance stops taking new sessions. Every call goes over TLS with the appliance's fleet
/// certificate, and steering must present a certificate for <c>openconnect://steering</c> from the
/// fleet CA (the system's roots and the host name do not count); the certificate is renewed over one
/// of the sessions when due, and each session reconnects with the new one. Replies carry the
/// replica's playback MAC key (replicas share the signing key, so they send the same one) and its
/// takedown list: the lists are merged (<see cref="TakedownMerge"/>), and the appliance persists the
/// union, refuses its titles (410) and purges them from the cache.
/// </summary>
public sealed class ControlPlaneClient : BackgroundService
{
    private readonly ApplianceOptions _options;
    private readonly ControlState _state;
    private readonly CacheInventory _inventory;
    private readonly SegmentCache _cache;
    private readonly ApplianceMetrics _metrics;
    private readonly IServer _server;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly TimeProvider _time;
    private readonly ILogger<ControlPlaneClient> _logger;
    private readonly string _instanceId = Guid.NewGuid().ToString("N");
    private readonly SrvLocator _locator;
    private readonly FleetEnrollment _fleet;
    private readonly RoleListeners _listeners;
    private readonly Serving.AccessGate _gate;
    private readonly TakedownMerge _takedowns = new();
    private readonly SemaphoreSlim _applying = new(1, 1);
    private readonly SemaphoreSlim _renewing = new(1, 1);
    private readonly Lock _sessionsLock = new();
    private CertificateRenewal? _renewal;
    private SteeringSession[] _sessions = [];

    public ControlPlaneClient(IOptions<ApplianceOptions> options, ControlState state, CacheInventory inventory, SegmentCache cache, ApplianceMetrics metrics, IServer server, IHostApplicationLifetime lifetime, TimeProvider time, ILogger<ControlPlaneClient> logger, FleetEnrollment fleet, RoleListeners listeners, Serving.AccessGate gate)
    {
        _gate = gate;
        _fleet = fleet;
        _listeners = listeners;
        _options = options.Value;
        _state = state;
        _inventory = inventory;
        _cache = cache;
        _metrics = metrics;
        _server = server;
        _lifetime = lifetime;
        _time = time;
        _logger = logger;
        var steering = _options.Steering;
        _locator = new SrvLocator(steering.SrvName, steering.DnsServer, "", steering.CallTimeout);
    }

    /// <summary>The control-plane URL of the first replica in use (null before the first resolution or when none is found).</summary>
    public Uri? Endpoint => Sessions.FirstOrDefault()?.Endpoint;

    /// <summary>The sessions in use, one per steering replica, best SRV target (or first configured URL) first.</summary>
    public IReadOnlyList<SteeringSession> Sessions => Volatile.Read(ref _sessions);

    /// <summary>Heartbeats steering acknowledged since start, all replicas together.</summary>
    public long HeartbeatsAcknowledged => Sessions.Sum(s => s.HeartbeatsAcknowledged);

    /// <summary>Registrations steering accepted since start, all replicas together.</summary>
    public long Registrations => Sessions.Sum(s => s.Registrations);

    internal ApplianceOptions Options => _options;

    internal TimeProvider Time => _time;

    internal string InstanceId => _instanceId;

    internal CacheInventory Inventory => _inventory;

    internal ApplianceCredentials Credentials => _fleet.Credentials!;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Steering.Enabled)
        {
            return;
        }

        // The public URL defaults to the bound data address, known once the server listens.
        await WaitForStartAsync(stoppingToken).ConfigureAwait(false);
        await Task.Run(SeedInventoryFromSsd, stoppingToken).ConfigureAwait(false);
        var credentials = _fleet.Credentials ?? throw new InvalidOperationException("the control plane needs the appliance's fleet credentials");
        _renewal = new CertificateRenewal(credentials, _options.Id, _options.Fleet.RenewRetryInterval, _time, _logger);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var settled = true;
                try
                {
                    var fromSrv = await ResolveAsync(stoppingToken).ConfigureAwait(false);
                    // An SRV name that did not resolve (DNS down, record not there yet) or a replica that
                    // does not answer is looked up again soon rather than at the full interval.
                    settled = (fromSrv || _locator.SrvName.Length == 0) && Sessions.All(s => s.Reachable);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    ControlLog.ControlPlaneUnreachable(_logger, _locator.ToString(), ex.Message);
                    settled = false;
                }

                try
                {
                    await Task.Delay(settled ? _options.Steering.ResolveInterval : TimeSpan.FromSeconds(1), _time, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        finally
        {
            foreach (var session in Interlocked.Exchange(ref _sessions, []))
            {
                await session.StopAsync().ConfigureAwait(false);
                session.Dispose();
            }
        }
    }

    public override void Dispose()
    {
        foreach (var session in Interlocked.Exchange(ref _sessions, []))
        {
            session.Dispose();
        }

        _applying.Dispose();
        _renewing.Dispose();
        base.Dispose();
    }

    private async Task WaitForStartAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var a = _lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        using var b = stoppingToken.Register(() => started.TrySetCanceled(stoppingToken));
        await started.Task.ConfigureAwait(false);
    }

    /// <summary>The SSD tier survives restarts but its index holds only key hashes: read each object's path once.</summary>
    private void SeedInventoryFromSsd()
    {
        var store = _cache.Store;
        foreach (var (key, _) in store.Entries)
        {
            if (store.ReadPath(key) is { } path)
            {
                _inventory.Held(key, path, InventoryTier.Ssd);
            }
        }
    }

    /// <summary>
    /// Finds the replicas (all SRV targets, else the configured URLs) and starts a session for each new
    /// one, stopping those no longer named; true when SRV gave them. An empty answer keeps the sessions.
    /// </summary>
    private async Task<bool> ResolveAsync(CancellationToken cancellationToken)
    {
        var (found, fromSrv) = await _locator.ResolveAllAsync(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<Uri> urls = fromSrv ? found : _options.Steering.StaticUrls;
        // SRV answers give host and port only; the control plane speaks TLS and nothing else.
        var wanted = urls.Select(u => u.Scheme == Uri.UriSchemeHttp ? new UriBuilder(u) { Scheme = Uri.UriSchemeHttps, Port = u.Port }.Uri : u).Distinct().ToList();
        if (wanted.Count == 0)
        {
            return fromSrv;
        }

        List<SteeringSession> stopped;
        lock (_sessionsLock)
        {
            var current = _sessions;
            if (current.Select(s => s.Endpoint).SequenceEqual(wanted))
            {
                return fromSrv;
            }

            var next = new List<SteeringSession>(wanted.Count);
            foreach (var url in wanted)
            {
                if (current.FirstOrDefault(s => s.Endpoint == url) is { } kept)
                {
                    next.Add(kept);
                    continue;
                }

                ControlLog.ControlPlaneFound(_logger, url.ToString(), fromSrv ? _locator.SrvName : "static URL");
                _takedowns.Expect(url);
                var session = new SteeringSession(this, url, _options.Steering.HeartbeatInterval, _logger, cancellationToken);
                next.Add(session);
                session.Start();
            }

            stopped = [.. current.Where(s => !wanted.Contains(s.Endpoint))];
            Volatile.Write(ref _sessions, [.. next]);
        }

        foreach (var session in stopped)
        {
            ControlLog.ControlPlaneDropped(_logger, session.Endpoint.ToString());
            await session.StopAsync().ConfigureAwait(false);
            _takedowns.Forget(session.Endpoint);
            _state.Forget(session.Endpoint.ToString());
            _metrics.SteeringSessionUp.RemoveLabelled(session.Endpoint.ToString());
            session.Dispose();
        }

        return fromSrv;
    }

    /// <summary>Renewals of the fleet certificate since start.</summary>
    public int CertificateRenewals => _renewal?.Renewals ?? 0;

    /// <summary>
    /// The parent listener's URL as peers reach it (the fill controller names it as a fill source):
    /// the bound address, or, bound to every address (0.0.0.0, [::]), the public URL's host on the parent port.
    /// </summary>
    public static string AdvertisedParentUrl(Uri bound, string publicUrl)
    {
        var wildcard = bound.Host is "0.0.0.0" or "[::]" or "::" or "*" or "+";
        if (!wildcard || !Uri.TryCreate(publicUrl, UriKind.Absolute, out var advertised))
        {
            return bound.GetLeftPart(UriPartial.Authority);
        }

        return new UriBuilder(Uri.UriSchemeHttps, advertised.Host, bound.Port).Uri.GetLeftPart(UriPartial.Authority);
    }

    /// <summary>What this appliance registers as (the same with every replica).</summary>
    internal ApplianceIdentity Identity()
    {
        var (publicUrl, publicUrlIPv6) = PublicUrls.Choose(_options.PublicUrl, _options.PublicUrlIPv6, _server.Features.Get<IServerAddressesFeature>()?.Addresses);
        return new ApplianceIdentity
        {
            ApplianceId = _options.Id,
            Site = _options.Site,
            PublicUrl = publicUrl,
            PublicUrlIpv6 = publicUrlIPv6,
            ParentUrl = _listeners.HasParent ? AdvertisedParentUrl(_listeners.ParentAddress, publicUrl) : "",
            CapacityBytesPerSecond = _options.CapacityBytesPerSecond,
            MaxConnections = (int)Math.Min(int.MaxValue, _options.Limits.MaxConnections),
            SsdBytes = _options.Cache.SsdBytes,
            Version = RoleVersion.Current,
        };
    }

    internal ApplianceHealth Health() => new() { CacheHealthy = _cache.Store.IsHealthy, Draining = _state.Draining };

    /// <summary>Renews the fleet certificate over <paramref name="invoker"/> when due; one session at a time.</summary>
    internal async Task RenewIfDueAsync(CallInvoker invoker, CancellationToken cancellationToken)
    {
        await _renewing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _renewal!.RenewIfDueAsync(invoker, Deadline(), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _renewing.Release();
        }
    }

    /// <summary>
    /// Merges <paramref name="replica"/>'s takedown list with the other replicas' and applies the result
    /// when it differs from the one applied (the generation, or the titles).
    /// </summary>
    internal async Task ApplyTakedownsAsync(Uri replica, TakedownList list, CancellationToken cancellationToken)
    {
        var titles = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in list.Takedowns)
        {
            titles[entry.TitleId] = entry.Reason;
        }

        await _applying.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var applied = _cache.Takedowns;
            var (generation, merged) = _takedowns.Offer(replica, list.Generation, titles, applied.Titles);
            if (generation == applied.Generation && merged.Count == applied.Count && merged.Keys.All(applied.HoldsTitle))
            {
                return;
            }

            var added = await _cache.ApplyTakedownsAsync(generation, merged, cancellationToken).ConfigureAwait(false);
            ControlLog.TakedownsApplied(_logger, generation, merged.Count, added.Count == 0 ? "-" : string.Join(',', added));
        }
        finally
        {
            _applying.Release();
        }
    }

    /// <summary>
    /// Makes the playback MAC key steering sent (on this mutual-TLS link, to this appliance's
    /// certificate only) the one v2 tokens verify with; the previous key stays valid beside it.
    /// Replicas share the signing key, so their replies carry the same key and installing it again changes nothing.
    /// </summary>
    internal void InstallPlaybackKey(ByteString key)
    {
        if (key.Length == PlaybackMacKey.Length)
        {
            _gate.Access.MacKeys.Install(new PlaybackMacKey(key.Span));
        }
    }

    /// <summary>Load counters now (bytes out so far; each session turns them into a rate over its own interval).</summary>
    internal (ApplianceLoad Load, long BytesOut) SampleLoad()
    {
        var bytes = (long)(_metrics.ResponseBytes.WithLabels("ram").Value + _metrics.ResponseBytes.WithLabels("ssd").Value + _metrics.ResponseBytes.WithLabels("miss").Value);
        var hits = (long)(_metrics.Requests.WithLabels("ram").Value + _metrics.Requests.WithLabels("ssd").Value);
        var load = new ApplianceLoad
        {
            Connections = (int)_metrics.ConnectionsOpen.Value,
            Requests = hits + (long)_metrics.Requests.WithLabels("miss").Value,
            HitRequests = hits,
        };
        return (load, bytes);
    }

    /// <summary>A replica accepted a Register or Heartbeat: the appliance is not lost, and the metric says when.</summary>
    internal void Contacted()
    {
        _state.Contacted();
        _metrics.ControlPlaneContact.Set(_time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0);
    }

    /// <summary>Records a session's standing for <c>/healthz</c> and the per-replica metric.</summary>
    internal void SessionState(SteeringSession session, bool reachable)
    {
        var url = session.Endpoint.ToString();
        _state.Session(url, reachable);
        _metrics.SteeringSessionUp.WithLabels(url).Set(reachable ? 1 : 0);
    }

    internal DateTime Deadline() => DateTime.UtcNow + _options.Steering.CallTimeout;
}
