using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace OpenConnect.Appliance.Control;

/// <summary>
/// The appliance's standing with the control plane: draining (set by the operator) and whether
/// steering has been reachable recently. An appliance that has not completed a heartbeat for
/// <c>Appliance:Steering:LostAfter</c> stops taking new sessions, as Open Connect appliances stop
/// serving when they lose their control plane: a player steered here by a stale decision gets 503
/// for its playlist or manifest and tries its next pathway, while sessions already playing keep
/// getting their segments.
/// </summary>
public sealed class ControlState
{
    private readonly TimeProvider _time;
    private readonly TimeSpan _lostAfter;
    private long _lastContact;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _sessions = new(StringComparer.Ordinal);
    private volatile bool _draining;

    public ControlState(IOptions<ApplianceOptions> options, TimeProvider time)
    {
        _time = time;
        var appliance = options.Value;
        Enabled = appliance.Steering.Enabled;
        _lostAfter = appliance.Steering.LostAfter;
        _draining = appliance.Draining;
        // A fresh process gets the same grace to reach steering as one that lost it.
        _lastContact = time.GetTimestamp();
    }

    /// <summary>Whether a control plane is configured at all (a standalone appliance never counts as lost).</summary>
    public bool Enabled { get; }

    public bool Draining
    {
        get => _draining;
        set => _draining = value;
    }

    /// <summary>Time since the last successful Register or Heartbeat (or since start).</summary>
    public TimeSpan SinceContact => _time.GetElapsedTime(Interlocked.Read(ref _lastContact));

    /// <summary>True when the control plane has been unreachable for longer than <c>LostAfter</c>.</summary>
    public bool Lost => Enabled && SinceContact > _lostAfter;

    /// <summary>Whether requests that start a session (playlists, manifests) are refused now.</summary>
    public bool RefusesNewSessions => Lost;

    public void Contacted() => Interlocked.Exchange(ref _lastContact, _time.GetTimestamp());

    /// <summary>Each steering replica's standing (its control-plane URL → reachable), for <c>/healthz</c>.</summary>
    public IReadOnlyDictionary<string, bool> Sessions => _sessions;

    /// <summary>Records whether the last call to one steering replica succeeded.</summary>
    public void Session(string url, bool reachable) => _sessions[url] = reachable;

    /// <summary>A replica no longer in use.</summary>
    public void Forget(string url) => _sessions.TryRemove(url, out _);

    /// <summary>Reports the control-plane standing in <c>/healthz</c>.</summary>
    public sealed class HealthCheck(ControlState state) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var data = new Dictionary<string, object>
            {
                ["enabled"] = state.Enabled,
                ["draining"] = state.Draining,
                ["secondsSinceContact"] = Math.Round(state.SinceContact.TotalSeconds, 1),
                ["steering"] = state.Sessions.OrderBy(s => s.Key, StringComparer.Ordinal).ToDictionary(s => s.Key, s => s.Value ? "reachable" : "unreachable"),
            };
            if (state.Lost)
            {
                return Task.FromResult(HealthCheckResult.Degraded($"control plane unreachable for {state.SinceContact.TotalSeconds:F0} s: refusing new sessions, serving sessions in progress", data: data));
            }

            if (state.Draining)
            {
                return Task.FromResult(HealthCheckResult.Degraded("draining: finishing current sessions, asking steering for no new plays", data: data));
            }

            return Task.FromResult(HealthCheckResult.Healthy(state.Enabled ? "in contact with the control plane" : "standalone (no control plane configured)", data));
        }
    }
}
