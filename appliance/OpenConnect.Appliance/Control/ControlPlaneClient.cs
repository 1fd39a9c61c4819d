using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using OpenConnect.Appliance.Caching;
using OpenConnect.Appliance.Identity;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Contracts.Security;
using OpenConnect.Contracts.Steering.V1;
using OpenConnect.Hosting;
using OpenConnect.Hosting.Discovery;

namespace OpenConnect.Appliance.Control;

/// <summary>
/// Keeps steering informed: registers on start (and whenever steering answers that it does not know
/// this instance), then heartbeats with load, health and inventory changes. Steering's address comes
/// from DNS SRV when <c>Appliance:Steering:SrvName</c> is set (re-resolved periodically), else from
/// <c>Appliance:Steering:Url</c>. Every successful call refreshes <see cref="ControlState"/>; failures
/// are retried at the heartbeat interval, and after <c>LostAfter</c> without success the appliance
/// stops taking new sessions. Every call goes over TLS with the appliance's fleet certificate, and
/// steering must present a certificate for <c>openconnect://steering</c> from the fleet CA (the
/// system's roots and the host name do not count); the certificate is renewed on this connection
/// when due, and the channel reconnects with the new one. Replies carry steering's takedown list: the
/// appliance persists it, refuses its titles (410) and purges them from the cache before the next call.
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
    private CertificateRenewal? _renewal;
    private int _credentialVersion;

    private GrpcChannel? _channel;
    private ControlPlane.ControlPlaneClient? _client;
    private Uri? _endpoint;
    private bool _registered;
    private bool _reachable = true;
    private ulong _sequence;
    private TimeSpan _interval;

    // Inventory steering has acknowledged, and what the last heartbeat offered on top of it.
    private HashSet<string> _ackedEntries = new(StringComparer.Ordinal);
    private ulong _ackedVersion;
    private bool _needFull = true;
    private (ulong Version, HashSet<string> Entries)? _offered;

    private long _lastBytes;
    private long _lastBytesAt;

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
        _interval = steering.HeartbeatInterval;
        _locator = new SrvLocator(steering.SrvName, steering.DnsServer, steering.Url, steering.CallTimeout);
    }

    /// <summary>The control-plane URL in use (null before the first resolution or when none is found).</summary>
    public Uri? Endpoint => _endpoint;

    /// <summary>Heartbeats steering acknowledged since start.</summary>
    public long HeartbeatsAcknowledged { get; private set; }

    /// <summary>Registrations steering accepted since start.</summary>
    public long Registrations { get; private set; }

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
        var nextResolve = 0L;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (_time.GetTimestamp() >= nextResolve)
                {
                    var fromSrv = await ResolveAsync(stoppingToken).ConfigureAwait(false);
                    // An SRV name that did not resolve (DNS down, record not there yet) or a control
                    // plane that does not answer is looked up again soon rather than at the full interval.
                    var settled = fromSrv || _locator.SrvName.Length == 0;
                    var wait = settled && _reachable ? _options.Steering.ResolveInterval : TimeSpan.FromSeconds(1);
                    nextResolve = _time.GetTimestamp() + (long)(wait.TotalSeconds * _time.TimestampFrequency);
                }

                if (_endpoint is not null && credentials.Version != _credentialVersion)
                {
                    // A renewed certificate: reconnect with it (same instance, no new registration needed).
                    Connect(_endpoint);
                }

                if (_client is not null)
                {
                    await _renewal.RenewIfDueAsync(_channel!.CreateCallInvoker(), Deadline(), stoppingToken).ConfigureAwait(false);
                    if (!_registered)
                    {
                        await RegisterAsync(stoppingToken).ConfigureAwait(false);
                    }

                    if (_registered)
                    {
                        await HeartbeatAsync(stoppingToken).ConfigureAwait(false);
                    }
                }

                Reachable(true);
            }
            catch (RpcException ex) when (!stoppingToken.IsCancellationRequested)
            {
                Reachable(false, ex.Status.Detail);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Anything else (a DNS or socket failure) is retried like an unreachable control plane:
                // the client must never stop, or the appliance would count as lost for good.
                Reachable(false, ex.Message);
            }

            try
            {
                await Task.Delay(_interval, _time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    public override void Dispose()
    {
        _channel?.Dispose();
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

    /// <summary>Resolves the control plane's address, switching channels when it changed; true when SRV gave it.</summary>
    private async Task<bool> ResolveAsync(CancellationToken cancellationToken)
    {
        var (url, fromSrv) = await _locator.ResolveAsync(cancellationToken).ConfigureAwait(false);
        // SRV answers give host and port only; the control plane speaks TLS and nothing else.
        if (url is not null && url.Scheme == Uri.UriSchemeHttp)
        {
            url = new UriBuilder(url) { Scheme = Uri.UriSchemeHttps, Port = url.Port }.Uri;
        }

        if (url is null || url == _endpoint)
        {
            return fromSrv;
        }

        ControlLog.ControlPlaneFound(_logger, url.ToString(), fromSrv ? _locator.SrvName : "static URL");
        Connect(url);
        _registered = false;
        return fromSrv;
    }

    /// <summary>A channel to <paramref name="url"/> over mutual TLS with the current fleet certificate.</summary>
    private void Connect(Uri url)
    {
        var credentials = _fleet.Credentials!;
        _credentialVersion = credentials.Version;
        _channel?.Dispose();
        _channel = GrpcChannel.ForAddress(url, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                SslOptions = credentials.ClientOptions(FleetIdentity.Steering),
                ConnectTimeout = _options.Steering.CallTimeout,
                EnableMultipleHttp2Connections = true,
            },
        });
        _client = new ControlPlane.ControlPlaneClient(_channel);
        _endpoint = url;
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

    private async Task RegisterAsync(CancellationToken cancellationToken)
    {
        var (publicUrl, publicUrlIPv6) = PublicUrls.Choose(_options.PublicUrl, _options.PublicUrlIPv6, _server.Features.Get<IServerAddressesFeature>()?.Addresses);
        var request = new RegisterRequest
        {
            InstanceId = _instanceId,
            Identity = new ApplianceIdentity
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
            },
        };
        var reply = await _client!.RegisterAsync(request, deadline: Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (reply.HeartbeatIntervalMs > 0)
        {
            _interval = TimeSpan.FromMilliseconds(reply.HeartbeatIntervalMs);
        }

        InstallPlaybackKey(reply.PlaybackKey);
        await ApplyTakedownsAsync(reply.Takedowns, cancellationToken).ConfigureAwait(false);

        _registered = true;
        _needFull = true;
        _offered = null;
        Registrations++;
        Contacted();
        ControlLog.Registered(_logger, _options.Id, request.Identity.PublicUrl, _endpoint!.ToString());
    }

    private async Task HeartbeatAsync(CancellationToken cancellationToken)
    {
        var request = new HeartbeatRequest
        {
            ApplianceId = _options.Id,
            InstanceId = _instanceId,
            Sequence = ++_sequence,
            Load = MeasureLoad(),
            Health = new ApplianceHealth { CacheHealthy = _cache.Store.IsHealthy, Draining = _state.Draining },
            Inventory = InventoryUpdate(),
            TakedownGeneration = _cache.Takedowns.Generation,
        };
        var reply = await _client!.HeartbeatAsync(request, deadline: Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
        Contacted();
        HeartbeatsAcknowledged++;
        if (!reply.Known)
        {
            // Steering restarted or expired this instance: register again right away.
            _registered = false;
            await RegisterAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        if (_offered is { } offered && reply.InventoryVersion == offered.Version)
        {
            _ackedEntries = offered.Entries;
            _ackedVersion = offered.Version;
        }

        _offered = null;
        if (reply.WantFullInventory)
        {
            _needFull = true;
        }

        InstallPlaybackKey(reply.PlaybackKey);
        await ApplyTakedownsAsync(reply.Takedowns, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Applies steering's takedown list when it differs from the one applied (the generation, or after a steering restart the titles).</summary>
    private async Task ApplyTakedownsAsync(TakedownList? list, CancellationToken cancellationToken)
    {
        if (list is null)
        {
            return;
        }

        var titles = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in list.Takedowns)
        {
            titles[entry.TitleId] = entry.Reason;
        }

        var applied = _cache.Takedowns;
        if (list.Generation == applied.Generation && titles.Count == applied.Count && titles.Keys.All(applied.HoldsTitle))
        {
            return;
        }

        var added = await _cache.ApplyTakedownsAsync(list.Generation, titles, cancellationToken).ConfigureAwait(false);
        ControlLog.TakedownsApplied(_logger, list.Generation, titles.Count, added.Count == 0 ? "-" : string.Join(',', added));
    }

    /// <summary>
    /// Makes the playback MAC key steering sent (on this mutual-TLS link, to this appliance's
    /// certificate only) the one v2 tokens verify with; the previous key stays valid beside it.
    /// </summary>
    private void InstallPlaybackKey(Google.Protobuf.ByteString key)
    {
        if (key.Length == PlaybackMacKey.Length)
        {
            _gate.Access.MacKeys.Install(new PlaybackMacKey(key.Span));
        }
    }

    /// <summary>The inventory part of a heartbeat: the full set when needed, else the change since the acknowledged version (null when none).</summary>
    private InventoryUpdate? InventoryUpdate()
    {
        var current = _inventory.Snapshot();
        var entries = new InventoryEntries();
        var full = _needFull;
        if (full)
        {
            entries.Added.AddRange(current.Order(StringComparer.Ordinal));
        }
        else
        {
            entries.Added.AddRange(current.Where(e => !_ackedEntries.Contains(e)).Order(StringComparer.Ordinal));
            entries.Removed.AddRange(_ackedEntries.Where(e => !current.Contains(e)).Order(StringComparer.Ordinal));
            if (entries.Added.Count == 0 && entries.Removed.Count == 0)
            {
                return null;
            }
        }

        var version = _ackedVersion + 1;
        _offered = (version, current);
        _needFull = false;
        return new InventoryUpdate
        {
            Full = full,
            BaseVersion = full ? 0 : _ackedVersion,
            Version = version,
            ZstdEntries = ByteString.CopyFrom(InventoryCodec.Compress(entries)),
        };
    }

    private ApplianceLoad MeasureLoad()
    {
        var bytes = (long)(_metrics.ResponseBytes.WithLabels("ram").Value + _metrics.ResponseBytes.WithLabels("ssd").Value + _metrics.ResponseBytes.WithLabels("miss").Value);
        var now = _time.GetTimestamp();
        var rate = 0L;
        if (_lastBytesAt != 0)
        {
            var seconds = _time.GetElapsedTime(_lastBytesAt, now).TotalSeconds;
            rate = seconds > 0 ? (long)((bytes - _lastBytes) / seconds) : 0;
        }

        _lastBytes = bytes;
        _lastBytesAt = now;
        var hits = (long)(_metrics.Requests.WithLabels("ram").Value + _metrics.Requests.WithLabels("ssd").Value);
        return new ApplianceLoad
        {
            BytesPerSecondOut = Math.Max(0, rate),
            Connections = (int)_metrics.ConnectionsOpen.Value,
            Requests = hits + (long)_metrics.Requests.WithLabels("miss").Value,
            HitRequests = hits,
        };
    }

    /// <summary>Steering accepted a Register or Heartbeat: the appliance is not lost, and the metric says when.</summary>
    private void Contacted()
    {
        _state.Contacted();
        _metrics.ControlPlaneContact.Set(_time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0);
    }

    private DateTime Deadline() => DateTime.UtcNow + _options.Steering.CallTimeout;

    private void Reachable(bool reachable, string? detail = null)
    {
        if (reachable == _reachable)
        {
            return;
        }

        _reachable = reachable;
        if (reachable)
        {
            ControlLog.ControlPlaneBack(_logger, _endpoint?.ToString() ?? "");
        }
        else
        {
            ControlLog.ControlPlaneUnreachable(_logger, _endpoint?.ToString() ?? "", detail ?? "");
        }
    }
}
