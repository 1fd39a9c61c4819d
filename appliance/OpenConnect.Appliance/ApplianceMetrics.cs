using OpenConnect.Appliance.Control;
using Prometheus;

namespace OpenConnect.Appliance;

/// <summary>The appliance's Prometheus metrics, on the host's own registry.</summary>
public sealed class ApplianceMetrics
{
    public ApplianceMetrics(IMetricFactory factory)
    {
        Requests = factory.CreateCounter("openconnect_appliance_requests_total", "Content requests by how they were served.", ["tier"]);
        ResponseBytes = factory.CreateCounter("openconnect_appliance_response_bytes_total", "Body bytes sent to clients by tier.", ["tier"]);
        Responses = factory.CreateCounter("openconnect_appliance_responses_total", "Responses by status code.", ["code"]);
        TimeToFirstByte = factory.CreateHistogram("openconnect_appliance_ttfb_seconds", "Time from a complete request head to the first response byte, by tier.", new HistogramConfiguration
        {
            LabelNames = ["tier"],
            Buckets = Histogram.ExponentialBuckets(0.0001, 2, 16),
        });
        TotalTime = factory.CreateHistogram("openconnect_appliance_response_seconds", "Time from a complete request head to the last body byte handed to the kernel, by tier.", new HistogramConfiguration
        {
            LabelNames = ["tier"],
            Buckets = Histogram.ExponentialBuckets(0.0005, 2, 16),
        });
        UpstreamFetches = factory.CreateCounter("openconnect_appliance_upstream_fetches_total", "Fetches sent to a parent.", ["parent"]);
        UpstreamFailures = factory.CreateCounter("openconnect_appliance_upstream_failures_total", "Parent fetches that failed (timeout, error status, cut body).", ["parent"]);
        UpstreamBytes = factory.CreateCounter("openconnect_appliance_upstream_bytes_total", "Body bytes received from parents.");
        CollapsedRequests = factory.CreateCounter("openconnect_appliance_collapsed_requests_total", "Misses that joined a fetch already under way instead of starting one.");
        FetchesRefused = factory.CreateCounter("openconnect_appliance_fetches_refused_total", "Misses answered 503 because too many parent fetches were under way (overall or for the title).");
        ConnectionsRefused = factory.CreateCounter("openconnect_appliance_connections_refused_total", "Connections answered 503 and closed because their client address had too many open.");
        AccessLogDropped = factory.CreateCounter("openconnect_appliance_access_log_dropped_total", "Access log lines dropped because the writer's queue was full.");
        NegativeHits = factory.CreateCounter("openconnect_appliance_negative_cache_hits_total", "Requests answered 404 from the short-lived not-found cache.");
        Admissions = factory.CreateCounter("openconnect_appliance_admissions_total", "Objects admitted into a tier.", ["tier"]);
        Evictions = factory.CreateCounter("openconnect_appliance_evictions_total", "Objects evicted from a tier.", ["tier"]);
        SsdBytesWritten = factory.CreateCounter("openconnect_appliance_ssd_bytes_written_total", "Object bytes written to the SSD tier.");
        CacheErrors = factory.CreateCounter("openconnect_appliance_cache_errors_total", "Cache tier failures (write failed, disk full, corrupt object dropped), by kind.", ["kind"]);
        IntegrityRefusals = factory.CreateCounter("openconnect_appliance_integrity_refusals_total", "Objects refused by the integrity check, never stored: by reason (manifest_missing, manifest_unavailable, manifest_invalid, unsigned, unknown_key, bad_signature, unlisted, size_mismatch, hash_mismatch) and path (pull: a miss from a parent or peer; fill).", ["reason", "via"]);
        TierBytes = factory.CreateGauge("openconnect_appliance_tier_bytes", "Bytes held per tier.", ["tier"]);
        TierObjects = factory.CreateGauge("openconnect_appliance_tier_objects", "Objects held per tier.", ["tier"]);
        ConnectionsOpen = factory.CreateGauge("openconnect_appliance_connections_open", "Client connections open on the segment server.");
        TierCapacity = factory.CreateGauge("openconnect_appliance_tier_capacity_bytes", "Configured size of each tier (Appliance:Cache:RamBytes, SsdBytes): the SSD write budget is drive writes per day of this.", ["tier"]);
        // No series before the first contact (nor ever on an appliance without a control plane), rather than a 0 that reads as 1970.
        ControlPlaneContact = factory.CreateGauge("openconnect_appliance_control_plane_last_contact_timestamp_seconds", "Unix time of the last Register or Heartbeat steering accepted.", new GaugeConfiguration { SuppressInitialValue = true });
        SteeringSessionUp = factory.CreateGauge("openconnect_appliance_steering_session_up", "Per steering replica (its control-plane URL): 1 while its last Register or Heartbeat succeeded, 0 while it fails.", ["steering"]);

        // Every tier's series from the start, so ratios over them (hit ratio = (ram + ssd) / all) have
        // both sides before the first miss or hit, instead of a gap.
        foreach (var tier in (string[])["ram", "ssd", "miss"])
        {
            Requests.WithLabels(tier);
            ResponseBytes.WithLabels(tier);
        }

        foreach (var tier in (string[])["ram", "ssd"])
        {
            Admissions.WithLabels(tier);
            Evictions.WithLabels(tier);
            TierBytes.WithLabels(tier);
            TierObjects.WithLabels(tier);
        }
    }

    /// <summary>The host's metrics, with the control-plane standing read at each scrape.</summary>
    public ApplianceMetrics(IMetricFactory factory, CollectorRegistry registry, ControlState control)
        : this(factory)
    {
        var lost = factory.CreateGauge("openconnect_appliance_control_plane_lost", "1 while the appliance counts its control plane lost (no Register or Heartbeat accepted for Appliance:Steering:LostAfter) and refuses new sessions; 0 otherwise, and always on an appliance without a control plane.");
        registry.AddBeforeCollectCallback(() => lost.Set(control.Lost ? 1 : 0));
    }

    public Counter Requests { get; }

    public Counter ResponseBytes { get; }

    public Counter Responses { get; }

    public Histogram TimeToFirstByte { get; }

    public Histogram TotalTime { get; }

    public Counter UpstreamFetches { get; }

    public Counter UpstreamFailures { get; }

    public Counter UpstreamBytes { get; }

    public Counter CollapsedRequests { get; }

    public Counter NegativeHits { get; }

    public Counter FetchesRefused { get; }

    public Counter ConnectionsRefused { get; }

    public Counter AccessLogDropped { get; }

    public Counter Admissions { get; }

    public Counter Evictions { get; }

    public Counter SsdBytesWritten { get; }

    public Counter CacheErrors { get; }

    /// <summary>Objects refused by the integrity check, by reason (<see cref="Upstream.IntegrityReason"/>) and via (pull, fill).</summary>
    public Counter IntegrityRefusals { get; }

    public Gauge TierBytes { get; }

    public Gauge TierObjects { get; }

    public Gauge ConnectionsOpen { get; }

    /// <summary>Configured bytes per tier (ram, ssd), set once when the cache is built.</summary>
    public Gauge TierCapacity { get; }

    /// <summary>Unix time (seconds) of the last Register or Heartbeat steering accepted; no series before the first.</summary>
    public Gauge ControlPlaneContact { get; }

    public Gauge SteeringSessionUp { get; }
}
