using Microsoft.Extensions.Options;
using OpenConnect.Steering.ControlPlane;
using OpenConnect.Steering.Selection;
using Prometheus;

namespace OpenConnect.Steering;

/// <summary>Steering's Prometheus metrics: appliances by state, decisions and their latency, what players report.</summary>
public sealed class SteeringMetrics
{
    private readonly Counter _decisions;
    private readonly Histogram _latency;
    private readonly Counter _steeringRequests;
    private readonly Histogram _reportedThroughput;

    public SteeringMetrics(IMetricFactory factory, CollectorRegistry registry, ApplianceRegistry appliances, TimeProvider time, IOptions<SteeringOptions> options)
    {
        _decisions = factory.CreateCounter("openconnect_steering_decisions_total", "Steering decisions made (plays, playlists, MPDs and steering manifests).");
        _latency = factory.CreateHistogram("openconnect_steering_decision_seconds", "Time to make one decision (prefix lookup, ranking, token).",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.000_002, 2, 16) });
        _steeringRequests = factory.CreateCounter("openconnect_steering_manifest_requests_total", "Steering manifest requests, by protocol and whether the player's current pathway was still offered.", ["protocol", "current"]);
        // Players report bits per second; the histogram is in bytes per second, Prometheus's base unit.
        _reportedThroughput = factory.CreateHistogram("openconnect_steering_reported_throughput_bytes_per_second", "Throughput players report in _HLS_throughput / _DASH_throughput, in bytes per second.",
            new HistogramConfiguration { LabelNames = ["protocol"], Buckets = Histogram.ExponentialBuckets(250_000 / 8, 2, 10) });
        var state = factory.CreateGauge("openconnect_steering_appliances", "Registered appliances by state.", ["state"]);
        var policy = new SelectionPolicy(options.Value.HeartbeatExpiry, options.Value.MaxLoadFraction, options.Value.Pathways, options.Value.LoadSheddingStart);
        registry.AddBeforeCollectCallback(() =>
        {
            var now = time.GetUtcNow();
            int eligible = 0, expired = 0, draining = 0, unhealthy = 0, full = 0;
            foreach (var appliance in appliances.All)
            {
                var status = appliance.Status;
                if (!policy.IsAlive(status, now))
                {
                    expired++;
                }
                else if (status.Draining)
                {
                    draining++;
                }
                else if (!status.CacheHealthy)
                {
                    unhealthy++;
                }
                else if (policy.IsEligible(appliance, now))
                {
                    eligible++;
                }
                else
                {
                    full++;
                }
            }

            state.WithLabels("eligible").Set(eligible);
            state.WithLabels("expired").Set(expired);
            state.WithLabels("draining").Set(draining);
            state.WithLabels("unhealthy").Set(unhealthy);
            state.WithLabels("overloaded").Set(full);
        });
    }

    public void Decided(TimeSpan elapsed)
    {
        _decisions.Inc();
        _latency.Observe(elapsed.TotalSeconds);
    }

    public void SteeringRequest(string protocol, bool currentKept, double? throughput)
    {
        _steeringRequests.WithLabels(protocol, currentKept ? "kept" : "moved").Inc();
        if (throughput is > 0)
        {
            _reportedThroughput.WithLabels(protocol).Observe(throughput.Value / 8);
        }
    }
}
