using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using OpenConnect.Contracts.Fleet;
using OpenConnect.Contracts.Steering.V1;

namespace OpenConnect.Appliance.Control;

/// <summary>
/// The appliance's session with one steering replica: its own channel, registration, heartbeat
/// sequence and interval, acknowledged inventory and takedown generation, and its own retry loop, so a
/// replica that is down or slow never delays the others. What the replies carry that the appliance
/// keeps (playback MAC key, takedown list) goes through <see cref="ControlPlaneClient"/>, which merges
/// it across replicas.
/// </summary>
public sealed class SteeringSession : IDisposable
{
    private readonly ControlPlaneClient _owner;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop;
    private GrpcChannel? _channel;
    private ControlPlane.ControlPlaneClient? _client;
    private int _credentialVersion;
    private bool _registered;
    private ulong _sequence;
    private TimeSpan _interval;
    private ulong _takedownGeneration;
    private Task _loop = Task.CompletedTask;

    // Inventory this replica has acknowledged, and what the last heartbeat offered on top of it.
    private HashSet<string> _ackedEntries = new(StringComparer.Ordinal);
    private ulong _ackedVersion;
    private bool _needFull = true;
    private (ulong Version, HashSet<string> Entries)? _offered;

    private long _lastBytes;
    private long _lastBytesAt;

    internal SteeringSession(ControlPlaneClient owner, Uri endpoint, TimeSpan interval, ILogger logger, CancellationToken stopping)
    {
        _owner = owner;
        Endpoint = endpoint;
        _interval = interval;
        _logger = logger;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(stopping);
    }

    /// <summary>The replica's control-plane URL.</summary>
    public Uri Endpoint { get; }

    /// <summary>Whether the last call to this replica succeeded.</summary>
    public bool Reachable { get; private set; } = true;

    /// <summary>Heartbeats this replica acknowledged.</summary>
    public long HeartbeatsAcknowledged { get; private set; }

    /// <summary>Registrations this replica accepted.</summary>
    public long Registrations { get; private set; }

    internal void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    /// <summary>Ends the session (the replica left the SRV answer, or the appliance stops).</summary>
    internal async Task StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public void Dispose()
    {
        _stop.Dispose();
        _channel?.Dispose();
    }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var credentials = _owner.Credentials;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (_client is null || credentials.Version != _credentialVersion)
                {
                    // First round, or a renewed certificate: (re)connect with it (same instance, no new registration needed).
                    Connect();
                }

                await _owner.RenewIfDueAsync(_channel!.CreateCallInvoker(), stoppingToken).ConfigureAwait(false);
                if (!_registered)
                {
                    await RegisterAsync(stoppingToken).ConfigureAwait(false);
                }

                if (_registered)
                {
                    await HeartbeatAsync(afterRegistering: false, stoppingToken).ConfigureAwait(false);
                }

                SetReachable(true);
            }
            catch (RpcException ex) when (!stoppingToken.IsCancellationRequested)
            {
                SetReachable(false, ex.Status.Detail);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Anything else (a DNS or socket failure) is retried like an unreachable replica:
                // the session must never stop on its own.
                SetReachable(false, ex.Message);
            }

            try
            {
                // Every interval, reachable or not: a replica that refuses the connection costs one refused
                // connect, one that does not answer is already spaced by the call timeout, and a restarted
                // one hears from every appliance within one interval plus a registration, well inside
                // steering's heartbeat expiry (three intervals by default), so its registry is whole by then.
                await Task.Delay(_interval, _owner.Time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>A channel to the replica over mutual TLS with the current fleet certificate.</summary>
    private void Connect()
    {
        var credentials = _owner.Credentials;
        _credentialVersion = credentials.Version;
        _channel?.Dispose();
        _channel = GrpcChannel.ForAddress(Endpoint, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                SslOptions = credentials.ClientOptions(FleetIdentity.Steering),
                ConnectTimeout = _owner.Options.Steering.CallTimeout,
                EnableMultipleHttp2Connections = true,
            },
        });
        _client = new ControlPlane.ControlPlaneClient(_channel);
    }

    private async Task RegisterAsync(CancellationToken cancellationToken)
    {
        var request = new RegisterRequest { InstanceId = _owner.InstanceId, Identity = _owner.Identity() };
        var reply = await _client!.RegisterAsync(request, deadline: _owner.Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (reply.HeartbeatIntervalMs > 0)
        {
            _interval = TimeSpan.FromMilliseconds(reply.HeartbeatIntervalMs);
        }

        _owner.InstallPlaybackKey(reply.PlaybackKey);
        await TakedownsAsync(reply.Takedowns, cancellationToken).ConfigureAwait(false);

        _registered = true;
        _needFull = true;
        _offered = null;
        Registrations++;
        _owner.Contacted();
        ControlLog.Registered(_logger, request.Identity.ApplianceId, request.Identity.PublicUrl, Endpoint.ToString());
    }

    private async Task HeartbeatAsync(bool afterRegistering, CancellationToken cancellationToken)
    {
        var request = new HeartbeatRequest
        {
            ApplianceId = _owner.Options.Id,
            InstanceId = _owner.InstanceId,
            Sequence = ++_sequence,
            Load = MeasureLoad(),
            Health = _owner.Health(),
            Inventory = InventoryUpdate(),
            TakedownGeneration = _takedownGeneration,
        };
        var reply = await _client!.HeartbeatAsync(request, deadline: _owner.Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
        _owner.Contacted();
        HeartbeatsAcknowledged++;
        if (!reply.Known)
        {
            // The replica restarted or expired this instance: register again right away, and send the
            // full inventory at once rather than an interval later (a restarted replica is whole sooner).
            _registered = false;
            await RegisterAsync(cancellationToken).ConfigureAwait(false);
            if (!afterRegistering)
            {
                await HeartbeatAsync(afterRegistering: true, cancellationToken).ConfigureAwait(false);
            }

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

        _owner.InstallPlaybackKey(reply.PlaybackKey);
        await TakedownsAsync(reply.Takedowns, cancellationToken).ConfigureAwait(false);
    }

    private async Task TakedownsAsync(TakedownList? list, CancellationToken cancellationToken)
    {
        if (list is null)
        {
            return;
        }

        _takedownGeneration = list.Generation;
        await _owner.ApplyTakedownsAsync(Endpoint, list, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The inventory part of a heartbeat: the full set when needed, else the change since the acknowledged version (null when none).</summary>
    private InventoryUpdate? InventoryUpdate()
    {
        var current = _owner.Inventory.Snapshot();
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

    /// <summary>Load since this session's previous heartbeat (each replica gets the rate over its own interval).</summary>
    private ApplianceLoad MeasureLoad()
    {
        var (load, bytes) = _owner.SampleLoad();
        var now = _owner.Time.GetTimestamp();
        var rate = 0L;
        if (_lastBytesAt != 0)
        {
            var seconds = _owner.Time.GetElapsedTime(_lastBytesAt, now).TotalSeconds;
            rate = seconds > 0 ? (long)((bytes - _lastBytes) / seconds) : 0;
        }

        _lastBytes = bytes;
        _lastBytesAt = now;
        load.BytesPerSecondOut = Math.Max(0, rate);
        return load;
    }

    private void SetReachable(bool reachable, string? detail = null)
    {
        _owner.SessionState(this, reachable);
        if (reachable == Reachable)
        {
            return;
        }

        Reachable = reachable;
        if (reachable)
        {
            ControlLog.ControlPlaneBack(_logger, Endpoint.ToString());
        }
        else
        {
            ControlLog.ControlPlaneUnreachable(_logger, Endpoint.ToString(), detail ?? "");
        }
    }
}
